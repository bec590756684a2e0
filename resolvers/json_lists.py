"""JSON list columns (a customer's tags and segments) matched in SQL, on SQLite and PostgreSQL.

``json_list_overlaps(column, values)`` is true when the row's list holds at least one of the
values: an ``EXISTS`` over the list's elements (``json_each`` on SQLite,
``json_array_elements_text`` on PostgreSQL, whose columns are ``json``). The element is
compiled per dialect, so a condition built without knowing the database serves both, and
no row is read into Python to be tested there.

``json_list_values(column, dialect)`` is the same expansion as a FROM item, for breakdowns
that group by the elements (``segmentCounts``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, exists, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

_SQLITE = "sqlite"
_POSTGRESQL = "postgresql"


def json_list_values(column: Any, dialect: str) -> Any:
    """The list's elements as a table-valued FROM item with one text column, ``value``."""
    function = func.json_each if dialect == _SQLITE else func.json_array_elements_text
    return function(column).table_valued("value")


def _overlap(column: Any, values: tuple[str, ...], dialect: str) -> Any:
    elements = json_list_values(column, dialect)
    return exists(select(literal(1)).select_from(elements).where(elements.c.value.in_(values)))


class JsonListOverlaps(ColumnElement[bool]):
    """True when a JSON list column holds at least one of ``values`` (see the module doc)."""

    type = Boolean()
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's declared traversal)
        ("sqlite", InternalTraversal.dp_clauseelement),
        ("postgresql", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, values: tuple[str, ...]) -> None:
        self.sqlite = _overlap(column, values, _SQLITE)
        self.postgresql = _overlap(column, values, _POSTGRESQL)


@compiles(JsonListOverlaps)
def _compile_default(element: JsonListOverlaps, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.sqlite, **kw))


@compiles(JsonListOverlaps, _POSTGRESQL)
def _compile_postgresql(element: JsonListOverlaps, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.postgresql, **kw))


def json_list_overlaps(column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    return JsonListOverlaps(column, tuple(values))
