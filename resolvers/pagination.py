"""Relay cursor pagination as keyset queries over (created_at, id).

Keyset paging stays fast on deep pages and is stable under inserts; the cursor is an opaque
base64 of the last row's sort key. ``first``/``after`` page forwards, ``last``/``before``
backwards, and page sizes are bounded by the settings.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Mapped

from core.errors import BadUserInput

T = TypeVar("T")


class SortDirection(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def validated(self, default_size: int, max_size: int) -> PageArgs:
        if self.first is not None and self.last is not None:
            raise BadUserInput("pass either `first` or `last`, not both", field="first")
        for name, value in (("first", self.first), ("last", self.last)):
            if value is not None and not 0 <= value <= max_size:
                raise BadUserInput(f"`{name}` must be between 0 and {max_size}", field=name)
        if self.first is None and self.last is None:
            return PageArgs(first=default_size, after=self.after, before=self.before)
        return self

    @property
    def backwards(self) -> bool:
        return self.last is not None

    @property
    def size(self) -> int:
        return self.last if self.last is not None else (self.first or 0)


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[tuple[str, T]]
    has_next_page: bool
    has_previous_page: bool


SortKey = tuple[datetime, Any]


def encode_cursor(created_at: datetime, row_id: object) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str, field: str, parse_id: Callable[[str], Any] = uuid.UUID) -> SortKey:
    try:
        created, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created), parse_id(row_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadUserInput(f"`{field}` is not a cursor this API issued", field=field) from exc


def beyond(
    created_col: Mapped[Any] | Any,
    id_col: Mapped[Any] | Any,
    cursor: SortKey | tuple[Any, Any],
    ascending: bool,
) -> Any:
    """Rows past ``cursor`` in the scan's direction (the cursor's values may be bound
    parameters: the SQL planner, ``api.compiled.sql``, binds them per request)."""
    created, row_id = cursor
    if ascending:
        return or_(created_col > created, and_(created_col == created, id_col > row_id))
    return or_(created_col < created, and_(created_col == created, id_col < row_id))


async def paginate(
    fetch: Callable[[Select[Any]], Any],
    query: Select[Any],
    *,
    created_col: Mapped[Any],
    id_col: Mapped[Any],
    key: Callable[[T], SortKey],
    args: PageArgs,
    direction: SortDirection = SortDirection.DESC,
    parse_id: Callable[[str], Any] = uuid.UUID,
) -> Page[T]:
    """Runs one query of ``size + 1`` rows; the extra row only tells whether more exist."""
    ascending = direction is SortDirection.ASC
    scan_ascending = ascending != args.backwards
    if args.after is not None:
        query = query.where(
            beyond(created_col, id_col, decode_cursor(args.after, "after", parse_id), ascending)
        )
    if args.before is not None:
        query = query.where(
            beyond(
                created_col, id_col, decode_cursor(args.before, "before", parse_id), not ascending
            )
        )
    order = (
        (created_col.asc(), id_col.asc()) if scan_ascending else (created_col.desc(), id_col.desc())
    )
    rows: Sequence[T] = await fetch(query.order_by(*order).limit(args.size + 1))
    more = len(rows) > args.size
    rows = list(rows[: args.size])
    if args.backwards:
        rows.reverse()
    edges = [(encode_cursor(*key(row)), row) for row in rows]
    if args.backwards:
        return Page(edges, has_next_page=args.before is not None, has_previous_page=more)
    return Page(edges, has_next_page=more, has_previous_page=args.after is not None)


class Executor(Protocol):
    async def scalars(self, statement: Any) -> list[Any]: ...

    async def scalar(self, statement: Any) -> Any: ...


async def page_with_count(
    db: Executor,
    model: type[T],
    conditions: list[Any],
    *,
    sort_col: Mapped[Any],
    id_col: Mapped[Any],
    args: PageArgs,
    direction: SortDirection = SortDirection.DESC,
    parse_id: Callable[[str], Any] = uuid.UUID,
) -> tuple[Page[T], Callable[[], Awaitable[int]]]:
    """One keyset page of ``model`` rows matching ``conditions``, and a count of all of them
    that runs only if the caller asks for ``totalCount``."""
    sort_name, id_name = sort_col.key, id_col.key  # type: ignore[attr-defined]
    page: Page[T] = await paginate(
        db.scalars,
        select(model).where(*conditions),
        created_col=sort_col,
        id_col=id_col,
        key=lambda row: (getattr(row, sort_name), getattr(row, id_name)),
        args=args,
        direction=direction,
        parse_id=parse_id,
    )

    async def count() -> int:
        return int(await db.scalar(select(func.count()).select_from(model).where(*conditions)))

    return page, count
