"""SQL the points batches write the same on SQLite and PostgreSQL: a new row id inside an
``INSERT … SELECT``, a JSON list's membership test, and the dialect's ``INSERT … ON CONFLICT``.

SQLAlchemy keeps a UUID on SQLite as 32 hex digits (``Uuid``'s non-native form), so 16 random
bytes in hex are a valid id there; PostgreSQL has ``gen_random_uuid()`` (13+).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Table, Uuid
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class new_uuid(FunctionElement[Any]):
    type = Uuid()
    inherit_cache = True
    name = "new_uuid"


class json_has(FunctionElement[bool]):
    """Whether a JSON list column holds the given text value."""

    type = Boolean()
    inherit_cache = True
    name = "json_has"


@compiles(new_uuid)
def _new_uuid_postgresql(element: new_uuid, compiler: SQLCompiler, **kw: Any) -> str:
    return "gen_random_uuid()"


@compiles(new_uuid, "sqlite")
def _new_uuid_sqlite(element: new_uuid, compiler: SQLCompiler, **kw: Any) -> str:
    return "lower(hex(randomblob(16)))"


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses]


@compiles(json_has)
def _json_has_postgresql(element: json_has, compiler: SQLCompiler, **kw: Any) -> str:
    column, value = _args(element, compiler, **kw)
    return f"(CAST({column} AS JSONB) @> jsonb_build_array(CAST({value} AS TEXT)))"


@compiles(json_has, "sqlite")
def _json_has_sqlite(element: json_has, compiler: SQLCompiler, **kw: Any) -> str:
    column, value = _args(element, compiler, **kw)
    # Compiled SQL fragments, not values: the values stay bound parameters.
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {value})"  # noqa: S608


def insert_new(session: AsyncSession, table: Table) -> Any:
    """``INSERT`` for ``table`` in the session's dialect, ready for ``on_conflict_do_nothing``."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
