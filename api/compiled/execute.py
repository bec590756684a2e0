"""One request's run of an ``OperationPlan``.

Synchronous fields are produced and completed in place, in selection order. Asynchronous ones
(DataLoader loads, page queries) are started where they are met and awaited in waves
(``api.compiled.waves``): every awaitable of one wave runs together, so each DataLoader sees
all of a page's keys at once, as graphql-core's own gathering lets it; completing a wave's
values may start the next.

Sensitive fields pass ``schema.policy_field.access_to`` before their resolver runs and
``shown`` after, exactly as the policy field extension does; a scope-declared field whose scope
(or staff token) the caller lacks is an error like any other. Any error, and any null where the
schema forbids one, stops the run with ``Fallback``: graphql's answer to those (an error at its
path, nulls propagated to the nearest nullable field) comes from the standard executor, which
the caller runs instead. A query is safe to run twice; a mutation is run by
``api.compiled.mutation``, which hands over only before its resolver writes.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import ExecutionResult
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.types.arguments import convert_arguments

from api.compiled.plan import Fallback, FieldStep, ObjectPlan, OperationPlan
from api.compiled.waves import run_wave
from schema.policy_field import access_to, shown

if TYPE_CHECKING:
    import strawberry

    from core.context import Context


@dataclass(frozen=True, slots=True)
class CompiledInfo:
    """What resolvers read of ``info`` (``context``, ``field_name``). A resolver reaching for
    anything else raises AttributeError here, and the standard executor answers instead."""

    context: Context
    field_name: str


_Pending = tuple[dict[str, Any], FieldStep, Awaitable[Any]]


class Run:
    """The state of one request's run: its caller, variables and the awaitables in flight."""

    __slots__ = ("_arguments", "_infos", "context", "pending", "principal", "schema", "variables")

    def __init__(
        self, schema: strawberry.Schema, context: Context, variables: VariableValues
    ) -> None:
        self.schema = schema
        self.context = context
        self.principal = context.principal
        self.variables = variables
        self.pending: list[_Pending] = []
        self._arguments: dict[int, dict[str, Any]] = {}
        self._infos: dict[str, CompiledInfo] = {}

    def object(self, plan: ObjectPlan, source: Any) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for step in plan.steps:
            if step.needs is not None and not step.needs.admits(self.principal):
                if step.refusal is None:
                    raise Fallback("a scope (or a staff token) the token lacks")
                # a mutation's payload saying FORBIDDEN: its resolver does not run
                result[step.key] = step.complete(step.refusal(self.principal), self)
                continue
            rule = step.rule
            if rule is None:
                value = step.produce(source, self, step)
            else:
                access = access_to(rule, self.principal, source)
                value = shown(rule, access, step.produce(source, self, step))
            if step.is_async or hasattr(value, "__await__"):
                result[step.key] = None  # keeps the key's place; the wave fills it in
                self.pending.append((result, step, value))
            else:
                result[step.key] = step.complete(value, self)
        return result

    def arguments(self, step: FieldStep) -> dict[str, Any]:
        """The step's arguments as its resolver takes them, converted once per request."""
        converted = self._arguments.get(id(step))
        if converted is None:
            where = step.arguments
            assert where is not None
            raw = get_argument_values(where.definition, where.node, self.variables)
            converted = convert_arguments(
                raw,
                where.strawberry_arguments,
                scalar_registry=self.schema.schema_converter.scalar_registry,
                config=self.schema.config,
            )
            self._arguments[id(step)] = converted
        return converted

    def info(self, field_name: str) -> CompiledInfo:
        info = self._infos.get(field_name)
        if info is None:
            info = self._infos[field_name] = CompiledInfo(self.context, field_name)
        return info


async def execute_plan(
    schema: strawberry.Schema, plan: OperationPlan, context: Context, variables: VariableValues
) -> dict[str, Any]:
    """The operation's ``data``; ``Fallback`` when the standard executor must answer."""
    run = Run(schema, context, variables)
    return await completed(run, lambda: run.object(plan.root, None))


async def completed(run: Run, start: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """What ``start`` builds, once every value it left waiting has come in, wave by wave;
    any error, raised or awaited, is ``Fallback``."""
    try:
        data = start()
        while run.pending:
            wave, run.pending = run.pending, []
            values = await run_wave([each[2] for each in wave])
            for (result, step, _), value in zip(wave, values, strict=True):
                if isinstance(value, BaseException):
                    raise Fallback(type(value).__name__) from value
                result[step.key] = step.complete(value, run)
        return data
    except Fallback:
        raise
    except Exception as exc:
        raise Fallback(type(exc).__name__) from exc
    finally:
        for _, _, awaitable in run.pending:  # started by a wave that did not finish
            if inspect.iscoroutine(awaitable):
                awaitable.close()


async def execute_query(
    schema: strawberry.Schema, plan: OperationPlan, context: Context, variables: VariableValues
) -> ExecutionResult:
    """A query's result (never with errors: a run that meets one raises ``Fallback``)."""
    return ExecutionResult(data=await execute_plan(schema, plan, context, variables))
