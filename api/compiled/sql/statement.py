"""One planned SQL statement: compiled once for the database's dialect, run on the driver's
own connection as a prepared statement, its rows read as tuples.

SQLAlchemy builds the statement (so scoping conditions come from the same functions the
resolvers call) and is then out of the way: the text, the order of its parameters, and the
bind and result processors of its types are kept, and a request only fills in the
parameters. asyncpg prepares and caches the text per connection (its statement cache);
aiosqlite runs it as it is. Values come back as the driver gives them; a field applies its
column's result processor (``processor``) when it reads one, so a value is exactly what the
ORM would have handed the resolver.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select

from core.identity import Principal, PrincipalKind

Processor = Callable[[Any], Any] | None

# A template caller for planning: a statement is built for these values and each request
# puts its caller's own in their place, so one plan serves every caller of the same shape.
TEMPLATE_SUBJECT = uuid.UUID("00000000-7e57-4e00-8000-00000000a001")
TEMPLATE_BRANCH = uuid.UUID("00000000-7e57-4e00-8000-00000000a002")
TEMPLATE_MERCHANT = uuid.UUID("00000000-7e57-4e00-8000-00000000a003")
_FROM_CALLER: dict[Any, Callable[[Principal], Any]] = {
    TEMPLATE_SUBJECT: lambda caller: uuid.UUID(caller.subject),
    str(TEMPLATE_SUBJECT): lambda caller: caller.subject,
    TEMPLATE_BRANCH: lambda caller: caller.branch_id,
    TEMPLATE_MERCHANT: lambda caller: caller.merchant_id,
}
_TEMPLATE_TEXTS = tuple(str(value) for value in (TEMPLATE_SUBJECT, TEMPLATE_BRANCH))


class NotPlannable(Exception):
    """The operation (or this caller's shape of it) has no SQL plan; the compiled executor
    runs it instead."""


# How a positional parameter gets its value: from the request's bindings by name, from the
# caller, or a constant of the statement.
Parameter = Callable[[Mapping[str, Any], Principal], Any]


@dataclass(frozen=True)
class PreparedSql:
    text: str
    parameters: tuple[Parameter, ...]
    processors: tuple[Processor, ...]
    dialect: str

    def processor(self, index: int) -> Processor:
        return self.processors[index]

    def arguments(self, bindings: Mapping[str, Any], caller: Principal) -> list[Any]:
        return [parameter(bindings, caller) for parameter in self.parameters]

    async def fetch(
        self, connection: Any, bindings: Mapping[str, Any], caller: Principal
    ) -> list[Any]:
        """The statement's rows on ``connection`` (the driver's own), as tuples."""
        arguments = self.arguments(bindings, caller)
        if self.dialect == "postgresql":
            return list(await connection.fetch(self.text, *arguments))
        cursor = await connection.execute(self.text, arguments)
        try:
            return list(await cursor.fetchall())
        finally:
            await cursor.close()


def prepare(statement: Select[Any], dialect: Dialect, bound: frozenset[str]) -> PreparedSql:
    """``statement`` compiled for ``dialect``; ``bound`` names the parameters each request
    binds (``bindparam(name)``), every other one is a constant or the template caller's."""
    compiled = statement.compile(dialect=dialect)
    processors = compiled._bind_processors
    parameters = []
    for name in compiled.positiontup or ():
        process: Any = processors.get(name)
        if name in bound:
            parameters.append(_bound(name, process))
        else:
            value = compiled.binds[name].effective_value
            parameters.append(_constant(value, process))
    results = tuple(
        column.type._cached_result_processor(dialect, None) for column in compiled._result_columns
    )
    return PreparedSql(compiled.string, tuple(parameters), results, dialect.name)


def _bound(name: str, process: Processor) -> Parameter:
    if process is None:
        return lambda bindings, caller: bindings[name]
    return lambda bindings, caller: process(bindings[name])


def _constant(value: Any, process: Processor) -> Parameter:
    from_caller = _FROM_CALLER.get(value) if isinstance(value, uuid.UUID | str) else None
    if from_caller is not None:
        if process is None:
            return lambda bindings, caller: from_caller(caller)
        return lambda bindings, caller: process(from_caller(caller))
    if any(text in repr(value) for text in _TEMPLATE_TEXTS):
        raise NotPlannable("the caller's identity inside a composite parameter")
    processed = process(value) if process is not None else value
    return lambda bindings, caller: processed


CallerShape = tuple[PrincipalKind, str, frozenset[str], bool, bool]


def caller_shape(caller: Principal) -> CallerShape:
    """What a plan depends on of the caller: everything but its identity."""
    return (
        caller.kind,
        caller.role.value,
        frozenset(caller.scopes),
        caller.branch_id is None,
        caller.merchant_id is None,
    )


def template_of(caller: Principal) -> Principal:
    """The caller with template identities (``statement.TEMPLATE_*``) in place of its own."""
    return dataclasses.replace(
        caller,
        subject=str(TEMPLATE_SUBJECT),
        branch_id=None if caller.branch_id is None else TEMPLATE_BRANCH,
        merchant_id=None if caller.merchant_id is None else TEMPLATE_MERCHANT,
    )
