"""The view's entry to the compiled executor: one plan per distinct query text, kept in an
LRU, and the per-request checks every executor makes before anything runs.

A query text is compiled the first time it arrives, whether sent in full or found by its
persisted-query hash, once it has passed the same parse, shape and validation rules the
standard executor applies; a text that fails them, or that the plan cannot reproduce, is
remembered as such and always runs on the standard executor, which reports its errors.
Per request, the variables are coerced, and the NUL, page-size and cost limits are checked
against the caller's policy; any refusal goes to the standard executor too, so every error
a caller sees comes from one place.
"""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    get_operation_ast,
    parse,
    specified_rules,
)
from graphql.execution.values import get_variable_values

from api.admission.limits import CACHE_SIZE, cost_errors, policy_in_force, shape_errors
from api.admission.nul import holds_nul, nul_errors
from api.admission.shape import document_shape
from api.admission.suggestions import validation_errors
from api.compiled.execute import execute_plan
from api.compiled.plan import Fallback, NotCompilable, OperationPlan, compile_operation
from api.observability import note_executor, note_operation
from core.context import Context
from core.lru import Lru
from core.outage import UNAVAILABLE_MESSAGE, DatabaseUnavailable
from core.settings import Settings

logger = logging.getLogger("cardcrm.compiled")
_STANDARD = "standard"  # remembered for a text with no plan


class CompiledOperations:
    def __init__(self, schema: strawberry.Schema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        self._plans: Lru[tuple[str, str | None], OperationPlan | str] = Lru(CACHE_SIZE)

    def plan_for(self, query: object, operation_name: object) -> OperationPlan | None:
        """The plan, or None; a request whose parameters are not strings has none (the view
        refuses those first; a dict here would not even hash as a cache key)."""
        if not isinstance(query, str) or not isinstance(operation_name, str | None):
            return None
        key = (query, operation_name)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._compile(query, operation_name)
            self._plans.put(key, plan)
        return plan if isinstance(plan, OperationPlan) else None

    async def execute(
        self,
        query: object,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
    ) -> dict[str, Any] | None:
        """The operation's ``data``, or None: the standard executor must answer it. A run the
        database did not answer raises ``DatabaseUnavailable`` instead: the standard executor
        would only meet the same silence, and the view answers 503."""
        plan = self.plan_for(query, operation_name)
        if plan is None:
            note_executor("standard")
            return None
        coerced = self._coerced(plan, variables, context)
        if coerced is None:
            note_executor("fallback")
            return None
        try:
            data = await execute_plan(self.schema, plan, context, coerced)
        except Fallback as exc:
            if context.db.outage is not None:
                raise DatabaseUnavailable(UNAVAILABLE_MESSAGE) from context.db.outage
            logger.debug("fallback: %s", exc)
            note_executor("fallback")
            return None
        note_operation(operation_name or plan.name)
        note_executor("compiled")
        return data

    def _coerced(
        self, plan: OperationPlan, variables: dict[str, Any] | None, context: Context
    ) -> Any:
        """The coerced variables, or None when a limit or the coercion refuses them."""
        graphql_schema = self.schema._schema
        coerced = get_variable_values(
            graphql_schema,
            plan.operation.variable_definitions or (),
            variables or {},
            hide_suggestions=True,  # its errors are never shown: the standard executor reports
        )
        if isinstance(coerced, list) or (variables and holds_nul(variables)):
            return None
        policy = policy_in_force(self.settings, context.principal.client_id)
        refused = cost_errors(
            graphql_schema, plan.document, plan.operation, variables, self.settings, policy
        )
        return None if refused else coerced

    def _compile(self, query: str, operation_name: str | None) -> OperationPlan | str:
        found = self._checked(query, operation_name)
        if found is None:
            return _STANDARD
        document, operation = found
        try:
            return compile_operation(self.schema._schema, document, operation)
        except NotCompilable as exc:
            logger.info("operation %s runs on the standard executor: %s", operation_name, exc)
            return _STANDARD

    def _checked(
        self, query: str, operation_name: str | None
    ) -> tuple[DocumentNode, OperationDefinitionNode] | None:
        """The document and operation if they pass the checks every executor applies."""
        try:
            document = parse(query, no_location=True, max_tokens=self.settings.max_query_tokens)
        except GraphQLError:
            return None
        if shape_errors(document_shape(document), self.settings) or nul_errors(document, None):
            return None
        if validation_errors(self.schema._schema, document, specified_rules, hide_suggestions=True):
            return None
        operation = get_operation_ast(document, operation_name)
        return (document, operation) if operation is not None else None
