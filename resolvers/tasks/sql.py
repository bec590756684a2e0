"""SQL the task generation needs on both databases, beside what every batch shares
(``resolvers.batch_sql``: a new row id): a JSON array of ids aggregated in SQL, and the
bank's local day of a UTC instant as a date.

Each keeps ``cardcrm tasks generate`` one ``INSERT … SELECT`` per kind, however many
customers there are."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Date, and_, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class json_ids(ColumnElement[Any]):
    """The aggregate of an id column as a JSON array of strings (``[]`` for no rows):
    ``json_group_array`` on SQLite, ``json_agg`` on PostgreSQL (whose columns are ``json``)."""

    type = JSON()
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: Any) -> None:
        self.column = column


@compiles(json_ids)
def _json_ids_sqlite(element: json_ids, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.column, **kw)})"


@compiles(json_ids, "postgresql")
def _json_ids_postgresql(element: json_ids, compiler: SQLCompiler, **kw: Any) -> str:
    inner = compiler.process(element.column, **kw)
    return f"coalesce(json_agg(CAST({inner} AS TEXT)), CAST('[]' AS JSON))"


def day_start(day: date, timezone: str) -> datetime:
    """The UTC instant the bank's local ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def local_day_window(column: Any, first: date, last: date, timezone: str) -> ColumnElement[bool]:
    """``column`` (a UTC instant) falls on a local day from ``first`` to ``last``."""
    return and_(
        column >= day_start(first, timezone),
        column < day_start(last + timedelta(days=1), timezone),
    )


def local_day_plus(column: Any, first: date, last: date, timezone: str, plus: int) -> Any:
    """The local day of ``column`` plus ``plus`` days, as a date, for instants within
    ``local_day_window``: a ``CASE`` with one branch per day of the (short) window, so no
    database's date functions or time zone tables are needed."""
    days = [last - timedelta(days=n) for n in range((last - first).days + 1)]
    return case(
        *[
            (column >= day_start(day, timezone), literal(day + timedelta(days=plus), Date))
            for day in days
        ],
        else_=literal(first + timedelta(days=plus), Date),
    )
