"""SQL pieces the set-based batches (points, risk alerts, tasks, campaigns) write the same on
SQLite and PostgreSQL: a batch's ids bound as one value (``among``), a new row id inside an
``INSERT … SELECT``, a JSON list's membership test, and the dialect's ``INSERT … ON CONFLICT``.

A batch's ids are one bound value whatever their number: a ``uuid[]`` array on PostgreSQL
(``= ANY``), a JSON array read with ``json_each`` on SQLite. So a batch runs a constant SQL
text (nothing for the drivers' statement caches to grow on), and PostgreSQL plans with the
array's real length: an index lookup per id, where a long ``IN (…)`` list of parameters was
planned as a scan of the whole table once the table outgrew the batch.

SQLAlchemy keeps a UUID on SQLite as 32 hex digits (``Uuid``'s non-native form), so 16 random
bytes in hex are a valid id there; PostgreSQL has ``gen_random_uuid()`` (13+).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Table,
    Uuid,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def among(dialect: str, column: Any, ids: Sequence[uuid.UUID], name: str) -> ColumnElement[bool]:
    """``column`` is one of ``ids``, bound as one value named ``name``."""
    if dialect == "postgresql":
        array = bindparam(name, list(ids), type_=ARRAY(Uuid()))
        return column == any_(array)  # type: ignore[no-any-return]
    # SQLite keeps a UUID as its 32 hex digits (SQLAlchemy's Uuid without a native type).
    values: Any = bindparam(name, json.dumps([value.hex for value in ids]))
    listed: Any = select(literal_column("value")).select_from(func.json_each(values))
    return column.in_(listed)  # type: ignore[no-any-return]


class new_uuid(FunctionElement[uuid.UUID]):
    """A fresh random id per row, as the table's UUID columns keep it."""

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
