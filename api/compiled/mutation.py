"""A mutation's run on the compiled executor: its one root field's resolver (the write) called
once, its payload completed by the plan.

A query that meets an error hands the request over to the standard executor, which runs it
again; a mutation must not be run again, so it hands over only before its resolver is
called: when the caller lacks what the field needs and the field answers that with an error
rather than a payload, or when the payload holds a field this caller may not see (DENIED, or
a scope the token lacks: the standard executor words those errors at their paths). A caller
refused the mutation itself gets its payload with FORBIDDEN in userErrors, as the field's
scope extension gives it, and nothing is written.

Once the resolver has been called, the answer is this run's: an unexpected failure while
the payload is completed (a bug, or a database gone away) is reported at the mutation's
path, coded as every error is (``api.error_handling.coded_error``); the standard executor
would report it at the field that failed, inside the payload.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graphql import ExecutionResult, GraphQLError, is_non_null_type
from graphql.execution.values import VariableValues

from api.compiled.execute import execute_plan
from api.compiled.plan import Fallback, ObjectPlan, OperationPlan
from api.error_handling import coded_error
from auth.policy import Access
from core.identity import Principal

if TYPE_CHECKING:
    import strawberry

    from core.context import Context


def payload_admits(plan: ObjectPlan | None, principal: Principal) -> bool:
    """Whether the caller may see every field the payload's selection asks for, so that
    completing it can meet no refusal (masks are no refusal)."""
    if plan is None:
        return True
    for step in plan.steps:
        if step.needs is not None and not step.needs.admits(principal):
            return False
        if step.rule is not None and step.rule.access_for(principal) is Access.DENIED:
            return False
        if not payload_admits(step.inner, principal):
            return False
    return True


async def execute_mutation(
    schema: strawberry.Schema, plan: OperationPlan, context: Context, variables: VariableValues
) -> ExecutionResult:
    """The mutation's result; ``Fallback`` only before anything was written."""
    (root,) = plan.root.steps
    principal = context.principal
    admitted = root.needs is None or root.needs.admits(principal)
    if not admitted and root.refusal is None:
        raise Fallback("a mutation refused with an error: the standard executor words it")
    if admitted and not payload_admits(root.inner, principal):
        raise Fallback("a payload field this caller may not see")
    try:
        return ExecutionResult(data=await execute_plan(schema, plan, context, variables))
    except Fallback as failure:
        if not admitted:
            raise  # the refusal payload: its resolver never ran, nothing was written
        cause = failure.__cause__ if isinstance(failure.__cause__, Exception) else failure
        error = GraphQLError(str(cause), path=[root.key], original_error=cause)
        definition = schema._schema.mutation_type
        assert definition is not None
        data = (
            None if is_non_null_type(definition.fields[root.field_name].type) else {root.key: None}
        )
        return ExecutionResult(data=data, errors=[coded_error(error)])
