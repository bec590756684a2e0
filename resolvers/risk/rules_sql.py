"""The SQL pieces only the alert rules use, the same query object on SQLite and PostgreSQL:
JSON details, "M minutes before" and natural keys, written per dialect when the statement is
compiled. What every batch shares (``among``, ``new_uuid``) is ``resolvers.batch_sql``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    String,
    cast,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


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
