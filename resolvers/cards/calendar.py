"""Day arithmetic the statement close does in SQL, the same on SQLite and PostgreSQL.

``plus_days(date, n)`` and ``instant_plus_days(instant, n)`` move a DATE or a UTC instant by a
per-row number of days (a card's grace period); ``days_between(later, earlier)`` counts the
days between two DATEs. SQLite keeps a DATE as ``YYYY-MM-DD`` and an instant as naive
``YYYY-MM-DD HH:MM:SS.ffffff`` text (``models.columns.UTCDateTime``), so its results are
formatted exactly so, or comparisons with stored values would be comparisons of different
texts. An instant moves by whole days of 24 hours: the bank's zone (Asia/Shanghai) has no
daylight saving, so a local midnight plus N days is the local midnight N days later.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models.columns import UTCDateTime


class plus_days(FunctionElement[Any]):
    type = Date()
    inherit_cache = True
    name = "plus_days"


class instant_plus_days(FunctionElement[Any]):
    type = UTCDateTime()
    inherit_cache = True
    name = "instant_plus_days"


class days_between(FunctionElement[int]):
    type = Integer()
    inherit_cache = True
    name = "days_between"


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses]


@compiles(plus_days)
def _plus_days_postgresql(element: plus_days, compiler: SQLCompiler, **kw: Any) -> str:
    day, n = _args(element, compiler, **kw)
    return f"(CAST({day} AS DATE) + CAST({n} AS INTEGER))"


@compiles(plus_days, "sqlite")
def _plus_days_sqlite(element: plus_days, compiler: SQLCompiler, **kw: Any) -> str:
    day, n = _args(element, compiler, **kw)
    return f"date({day}, printf('%+d days', {n}))"


@compiles(instant_plus_days)
def _instant_plus_days_postgresql(
    element: instant_plus_days, compiler: SQLCompiler, **kw: Any
) -> str:
    instant, n = _args(element, compiler, **kw)
    return f"({instant} + make_interval(days => CAST({n} AS INTEGER)))"


@compiles(instant_plus_days, "sqlite")
def _instant_plus_days_sqlite(element: instant_plus_days, compiler: SQLCompiler, **kw: Any) -> str:
    instant, n = _args(element, compiler, **kw)
    # %f is SS.SSS: three more zeros make the six-digit fraction SQLAlchemy stores.
    return f"strftime('%Y-%m-%d %H:%M:%f000', {instant}, printf('%+d days', {n}))"


@compiles(days_between)
def _days_between_postgresql(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return f"(CAST({later} AS DATE) - CAST({earlier} AS DATE))"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
