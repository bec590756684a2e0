"""A mutation's run on the compiled executor: its one root field's resolver (the write) called
once, its payload completed by the plan.

A query that meets an error hands the request over to the standard executor, which runs it
again; a mutation must never run again. So its payload, once the resolver has returned it,
is completed here whatever happens: by the plan, or, where the plan meets an error (a field
the caller may not see, a null where the schema forbids one), by graphql-core's own
completion of that same payload (``completed_as_standard``), which puts every error at its
path exactly as the standard executor does; the resolver is not called again. A payload
that asks for a field the caller may not see goes to graphql-core's completion directly.

A caller refused the mutation gets its refusal payload, as the field's scope extension gives
it, and nothing is written; a refusal that is an error rather than a payload, and a policy
rule on the mutation itself, are handed to the standard executor before anything runs.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from graphql import ExecutionResult, GraphQLError, execute, is_non_null_type
from graphql.execution.values import VariableValues

from api.admission.suggestions import SuggestionFreeExecutor
from api.compiled.execute import Run, completed
from api.compiled.plan import Fallback, FieldStep, ObjectPlan, OperationPlan
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
    schema: strawberry.Schema,
    plan: OperationPlan,
    context: Context,
    variables: VariableValues,
    raw_variables: dict[str, Any] | None,
) -> ExecutionResult:
    """The mutation's result; ``Fallback`` only before anything ran."""
    (root,) = plan.root.steps
    principal = context.principal
    run = Run(schema, context, variables)
    if root.rule is not None:
        raise Fallback("a policy rule on a mutation")
    if root.needs is not None and not root.needs.admits(principal):
        if root.refusal is None:
            raise Fallback("a mutation refused with an error: the standard executor words it")
        payload = root.refusal(principal)  # nothing runs: the refusal payload
    else:
        try:
            payload = root.produce(None, run, root)  # the write
            if inspect.isawaitable(payload):
                payload = await payload
        except Exception as failure:  # where graphql-core puts a resolver's error: the root
            return _failed(schema, root, failure)
    if payload_admits(root.inner, principal):
        try:
            return ExecutionResult(data=await completed(run, lambda: _root(run, root, payload)))
        except Fallback:
            pass  # completed again below, by graphql-core, with its errors at their paths
    return await completed_as_standard(schema, plan, context, raw_variables, payload)


def _root(run: Run, root: FieldStep, payload: Any) -> dict[str, Any]:
    return {root.key: root.complete(payload, run)}


async def completed_as_standard(
    schema: strawberry.Schema,
    plan: OperationPlan,
    context: Context,
    raw_variables: dict[str, Any] | None,
    payload: Any,
) -> ExecutionResult:
    """graphql-core's execution of the operation with its root field's value given: the
    payload is completed as the standard executor completes it (the resolver is not called
    again), its errors coded as every error is."""

    def given_root(next_: Any, source: Any, info: Any, **arguments: Any) -> Any:
        if info.path.prev is None:  # the mutation's own field: already resolved
            return payload
        return next_(source, info, **arguments)

    result = execute(
        schema._schema,
        plan.document,
        context_value=context,
        variable_values=raw_variables,
        operation_name=plan.name,
        middleware=[given_root],
        executor_class=SuggestionFreeExecutor,
    )
    if inspect.isawaitable(result):
        result = await result
    assert isinstance(result, ExecutionResult)
    errors = [coded_error(error) for error in result.errors or ()]
    return ExecutionResult(data=result.data, errors=errors or None)


def _failed(schema: strawberry.Schema, root: FieldStep, failure: Exception) -> ExecutionResult:
    """The mutation's resolver raised: its error at the mutation's path, as graphql-core
    reports it, and null as far up as the schema allows."""
    error = GraphQLError(str(failure), path=[root.key], original_error=failure)
    mutations = schema._schema.mutation_type
    assert mutations is not None
    required = is_non_null_type(mutations.fields[root.field_name].type)
    return ExecutionResult(data=None if required else {root.key: None}, errors=[coded_error(error)])
