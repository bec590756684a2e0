"""The view's entry to the compiled executor: one plan per distinct query text, kept in an
LRU, run once the request has passed the admission every executor applies.

Every request is first admitted (``api.admission.admit``: shape, NUL, page sizes and cost
against the caller's policy, validation), on the same parsed document and cached validation
the standard executor uses. A query text is compiled the first time a request of it is
admitted; a text that does not parse, or that the plan cannot reproduce, is remembered as
such and always runs on the standard executor. A refusal, or variables that do not coerce,
go to the standard executor too, which reports them, so every error a caller sees comes from
one place.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    validate,
)
from graphql.execution.values import VariableValues, get_variable_values

from api import metrics
from api.admission.admit import CACHE_SIZE, RULES, Admission, admit, parsed
from api.admission.limits import policy_in_force
from api.compiled.execute import execute_query
from api.compiled.mutation import execute_mutation
from api.compiled.plan import Fallback, NotCompilable, OperationPlan, compile_operation
from api.compiled.sql.planner import Planner
from api.compiled.sql.plans import SqlPlan
from api.compiled.sql.run import run_sql_plan
from api.compiled.sql.statement import NotPlannable, caller_shape
from api.observability import note_executor, note_operation
from auth.scopes import ROLE_SCOPES
from core.context import Context
from core.identity import Principal, PrincipalKind, Role
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
        # per (query, operation name, caller's shape): its SQL plan, or why it has none
        self._sql_plans: Lru[tuple[Any, ...], SqlPlan | str] = Lru(CACHE_SIZE)

    async def execute(
        self,
        query: object,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
        *,
        mutations: bool = True,
    ) -> ExecutionResult | None:
        """The operation's result, or None: the standard executor must answer it (a mutation
        too, unless ``mutations``: one sent by GET is the standard executor's to refuse). A run the
        database did not answer raises ``DatabaseUnavailable`` instead: the standard executor
        would only meet the same silence, and the view answers 503.

        A query with an SQL plan for this caller's shape runs that first (``planned``); a
        plan the request meets something unplanned in goes on to the resolver-driven one."""
        plan = self._plan(query, operation_name, variables, context)
        if not isinstance(plan, OperationPlan):
            note_executor(plan)
            return None
        coerced = get_variable_values(
            self.schema._schema,
            plan.operation.variable_definitions or (),
            variables or {},
            hide_suggestions=True,  # its errors are never shown: the standard executor reports
        )
        if isinstance(coerced, list):
            note_executor("fallback")
            return None
        if plan.is_mutation and not mutations:
            note_executor("fallback")
            return None
        planned = None if plan.is_mutation else self._sql_plan(query, operation_name, plan, context)
        if planned is not None:
            try:
                data, errors = await run_sql_plan(planned, context, coerced)
            except Fallback as exc:
                self._after_fallback(exc, context)
            else:
                note_operation(operation_name or plan.name)
                note_executor("planned")
                return ExecutionResult(data=data, errors=errors or None)
        return await self._compiled(plan, operation_name, context, coerced, variables)

    async def _compiled(
        self,
        plan: OperationPlan,
        operation_name: str | None,
        context: Context,
        coerced: VariableValues,
        variables: dict[str, Any] | None,
    ) -> ExecutionResult | None:
        """The resolver-driven plan's result; None when it handed the request over (a
        mutation only before anything ran)."""
        try:
            if plan.is_mutation:
                result = await execute_mutation(self.schema, plan, context, coerced, variables)
            else:
                result = await execute_query(self.schema, plan, context, coerced)
        except Fallback as exc:
            self._after_fallback(exc, context)
            note_executor("fallback")
            return None
        note_operation(operation_name or plan.name)
        note_executor("compiled")
        return result

    @staticmethod
    def _after_fallback(exc: Fallback, context: Context) -> None:
        if context.db.outage is not None:
            raise DatabaseUnavailable(UNAVAILABLE_MESSAGE) from context.db.outage
        logger.debug("fallback: %s", exc)

    def _sql_plan(
        self, query: Any, operation_name: str | None, plan: OperationPlan, context: Context
    ) -> SqlPlan | None:
        """The operation's SQL plan for this caller's shape, made on first use."""
        if not self.settings.sql_planner:
            return None
        key = (query, operation_name, caller_shape(context.principal))
        known = self._sql_plans.get(key)
        if known is None:
            known = self.plan_sql(plan, context)
            self._sql_plans.put(key, known)
        return known if isinstance(known, SqlPlan) else None

    def plan_sql(self, plan: OperationPlan, context: Context) -> SqlPlan | str:
        dialect = context.state.database.engine.dialect
        return self._planned(plan, context.principal, dialect, "first use")

    def _planned(
        self, plan: OperationPlan, caller: Principal, dialect: Any, when: str
    ) -> SqlPlan | str:
        metrics.SQL_PLANS.labels(when=when).inc()
        try:
            return Planner(self.schema._schema, plan.document, caller, dialect).plan(plan.operation)
        except (NotPlannable, NotCompilable) as exc:
            logger.info("operation %s is not planned as SQL: %s", plan.name, exc)
            return str(exc)

    def plan_ahead(self, texts: Iterable[str], dialect: Any) -> int:
        """Plans known operations (the persisted allow-lists) before any request of theirs:
        each one's plan, and its SQL plan for the usual caller of every role (a token with
        the role's scopes), so the first request of one is as fast as the thousandth.
        Returns how many operations were planned; a text that does not validate is left
        for its requests to meet the standard executor's errors."""
        planned = 0
        for text in texts:
            try:
                document = parsed(text, self.settings.max_query_tokens).document
            except GraphQLError:
                continue
            if validate(self.schema._schema, document, RULES):
                continue
            for operation, names in _operations_by_name(document):
                self._plan_ahead(text, document, operation, names, dialect)
                planned += 1
        return planned

    def _plan_ahead(
        self,
        text: str,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        names: list[str | None],
        dialect: Any,
    ) -> None:
        try:
            plan: OperationPlan | str = compile_operation(self.schema._schema, document, operation)
        except NotCompilable:
            plan = _STANDARD
        for name in names:
            self._plans.put((text, name), plan)
        if not isinstance(plan, OperationPlan) or not self.settings.sql_planner:
            return
        for caller in usual_callers():  # one plan per caller, under each name it runs by
            planned = self._planned(plan, caller, dialect, "ahead")
            for name in names:
                self._sql_plans.put((text, name, caller_shape(caller)), planned)

    def _plan(
        self,
        query: object,
        operation_name: object,
        variables: dict[str, Any] | None,
        context: Context,
    ) -> OperationPlan | str:
        """The plan of an admitted request; else why there is none to run: ``"standard"`` (the
        text has no plan) or ``"fallback"`` (it has one, but admission refused this request).
        A request whose parameters are not strings has none (the view refuses those first; a
        dict here would not even hash as a cache key)."""
        if not isinstance(query, str) or not isinstance(operation_name, str | None):
            return _STANDARD
        key = (query, operation_name)
        known = self._plans.get(key)
        if known == _STANDARD:
            return _STANDARD
        admission = self._admission(query, operation_name, variables, context)
        if admission is None:
            self._plans.put(key, _STANDARD)
            return _STANDARD
        if not admission.admitted:
            return "fallback" if known is not None else _STANDARD
        if known is None:
            known = self._compile(admission, operation_name)
            self._plans.put(key, known)
        return known

    def _admission(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
    ) -> Admission | None:
        """``admit``'s verdict on the request; None when the text does not even parse."""
        try:
            document = parsed(query, self.settings.max_query_tokens).document
        except GraphQLError:
            return None
        policy = policy_in_force(self.settings, context.principal.client_id)
        return admit(
            self.schema._schema,
            query,
            document,
            operation_name,
            variables,
            self.settings,
            policy,
        )

    def _compile(self, admission: Admission, operation_name: str | None) -> OperationPlan | str:
        assert admission.operation is not None
        try:
            return compile_operation(self.schema._schema, admission.document, admission.operation)
        except NotCompilable as exc:
            logger.info("operation %s runs on the standard executor: %s", operation_name, exc)
            return _STANDARD


def _operations_by_name(
    document: DocumentNode,
) -> list[tuple[OperationDefinitionNode, list[str | None]]]:
    """Each operation with the ``operationName`` values a request may run it by."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    found = []
    for operation in operations:
        names: list[str | None] = [operation.name.value] if operation.name else []
        if len(operations) == 1:
            names.append(None)
        found.append((operation, names))
    return found


def usual_callers() -> list[Principal]:
    """A caller of each role as its sign-in makes one: staff (with a branch or none) and
    customers with every scope of their role (merchant and service clients' scopes vary
    per client, so their operations are planned on first use)."""
    callers = []
    for role, scopes in ROLE_SCOPES.items():
        if role in (Role.MERCHANT, Role.SERVICE):
            continue
        customer = role is Role.CUSTOMER
        for branch_id in (None,) if customer else (None, uuid.UUID(int=0)):
            callers.append(
                Principal(
                    kind=PrincipalKind.CUSTOMER if customer else PrincipalKind.STAFF,
                    subject=str(uuid.UUID(int=0)),
                    role=role,
                    scopes=scopes,
                    client_id="plan-ahead",
                    token_id="plan-ahead",
                    expires_at=0,
                    branch_id=branch_id,
                )
            )
    return callers
