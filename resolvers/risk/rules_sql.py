"""The SQL pieces the alert rules share, the same query object on SQLite and PostgreSQL.

A batch's transactions are named by one bound value whatever their number (``among``): a
``uuid[]`` array on PostgreSQL (``= ANY``), a JSON array read with ``json_each`` on SQLite, so
the rules run a constant number of statements with a constant SQL text (nothing for the
drivers' statement caches to grow on). New alert ids, JSON details and "M minutes before" are
written per dialect when the statement is compiled.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    String,
    Uuid,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
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


@compiles(new_uuid)
def _new_uuid_postgresql(element: new_uuid, compiler: SQLCompiler, **kw: Any) -> str:
    return "gen_random_uuid()"


@compiles(new_uuid, "sqlite")
def _new_uuid_sqlite(element: new_uuid, compiler: SQLCompiler, **kw: Any) -> str:
    return "lower(hex(randomblob(16)))"


class json_object(FunctionElement[Any]):
    """``json_object(key, value, ...)``: a JSON object built in SQL (the alert's details)."""

    type = JSON()
    inherit_cache = True
    name = "json_object"


@compiles(json_object)
def _json_object_postgresql(element: json_object, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


@compiles(json_object, "sqlite")
def _json_object_sqlite(element: json_object, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


class minutes_before(FunctionElement[Any]):
    """``minutes_before(ts, n)``: the instant ``n`` minutes (a literal integer) before ``ts``,
    comparable with the column's stored values."""

    inherit_cache = True
    name = "minutes_before"


def _parts(element: minutes_before, compiler: SQLCompiler, **kw: Any) -> tuple[str, int]:
    ts, minutes = list(element.clauses)
    value = minutes.value  # type: ignore[attr-defined]
    return compiler.process(ts, **kw), int(value)


@compiles(minutes_before)
def _minutes_before_postgresql(element: minutes_before, compiler: SQLCompiler, **kw: Any) -> str:
    ts, minutes = _parts(element, compiler, **kw)
    return f"({ts} - make_interval(mins => {minutes}))"


@compiles(minutes_before, "sqlite")
def _minutes_before_sqlite(element: minutes_before, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC); %f gives milliseconds only.
    ts, minutes = _parts(element, compiler, **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%f', {ts}, '-{minutes} minutes') || '000')"


def concat(*parts: Any) -> ColumnElement[str]:
    """Text joined in SQL (the natural keys); an id as its dialect's text form."""
    result: Any = None
    for part in parts:
        text = part if isinstance(part, str) else cast(part, String)
        result = text if result is None else result + text
    return result  # type: ignore[no-any-return]
