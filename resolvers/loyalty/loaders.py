"""A page of customers' points, a constant number of queries whatever the page's size:
balances (one ``GROUP BY``), what expires soon (one ``GROUP BY`` per customer and expiry),
and history pages (``row_number() over (partition by customer)``, as the transaction pages
do). Each loader is built once per request by ``context.loader(Kind)`` and answers in key
order (STYLE §5).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.columns import utcnow
from models.loyalty.ledger import PointsEntry
from resolvers.loyalty.balance import Expiry, unspent_by_expiry
from resolvers.pagination import Page, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from core.context import Context

CUSTOMER = col(PointsEntry.customer_id)
POINTS = col(PointsEntry.points)


class PointsBalanceByCustomerLoader(DataLoader[uuid.UUID, int]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[int]:
        result = await self._db.execute(
            select(CUSTOMER, func.sum(POINTS)).where(CUSTOMER.in_(keys)).group_by(CUSTOMER)
        )
        rows: Sequence[Any] = result.all()
        found: dict[uuid.UUID, int] = {row[0]: int(row[1]) for row in rows}
        return [found.get(key, 0) for key in keys]


class PointsExpiringByCustomerLoader(DataLoader[uuid.UUID, list[Expiry]]):
    """The unspent points whose validity ends within ``points_expiring_soon_days`` (or has
    already ended, before the expiry batch took them), oldest first."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db
        self._horizon = timedelta(days=context.settings.points_expiring_soon_days)

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[list[Expiry]]:
        expires = col(PointsEntry.expires_at)
        credit = func.sum(case((POINTS > 0, POINTS), else_=0))
        debit = func.sum(case((POINTS < 0, -POINTS), else_=0))
        result = await self._db.execute(
            select(CUSTOMER, expires, credit, debit)
            .where(CUSTOMER.in_(keys))
            .group_by(CUSTOMER, expires)
        )
        credits: dict[uuid.UUID, list[tuple[Any, int]]] = defaultdict(list)
        debits: dict[uuid.UUID, int] = defaultdict(int)
        rows: Sequence[Any] = result.all()
        for customer_id, at, credited, debited in rows:
            debits[customer_id] += int(debited)
            if at is not None and credited:
                credits[customer_id].append((at, int(credited)))
        until = utcnow() + self._horizon
        return [
            [e for e in unspent_by_expiry(credits[key], debits[key]) if e.at <= until]
            for key in keys
        ]


@dataclass(frozen=True)
class HistoryKey:
    customer_id: uuid.UUID
    first: int
    after: str | None


class PointsHistoryByCustomerLoader(DataLoader[HistoryKey, Page[PointsEntry]]):
    """Pages of ledger entries newest first by (occurred_at, id); keys with equal
    (first, after) share one query."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[HistoryKey]) -> list[Page[PointsEntry]]:
        shapes: dict[tuple[int, str | None], list[HistoryKey]] = defaultdict(list)
        for key in keys:
            shapes[(key.first, key.after)].append(key)
        pages: dict[HistoryKey, Page[PointsEntry]] = {}
        for (first, after), group in shapes.items():
            pages.update(await self._pages(first, after, group))
        return [pages[key] for key in keys]

    async def _pages(
        self, first: int, after: str | None, group: list[HistoryKey]
    ) -> dict[HistoryKey, Page[PointsEntry]]:
        occurred, entry_id = col(PointsEntry.occurred_at), col(PointsEntry.id)
        conditions: list[Any] = [CUSTOMER.in_([key.customer_id for key in group])]
        if after is not None:
            at, row_id = decode_cursor(after, "after")
            conditions.append(or_(occurred < at, and_(occurred == at, entry_id < row_id)))
        rank = func.row_number().over(
            partition_by=CUSTOMER, order_by=(occurred.desc(), entry_id.desc())
        )
        ranked = select(PointsEntry, rank.label("rank")).where(*conditions).subquery()
        numbered = aliased(PointsEntry, ranked)
        rows = await self._db.scalars(
            select(numbered)
            .where(ranked.c.rank <= first + 1)
            .order_by(ranked.c.customer_id, ranked.c.rank)
        )
        grouped: dict[uuid.UUID, list[PointsEntry]] = defaultdict(list)
        for row in rows:
            grouped[row.customer_id].append(row)
        return {key: _page(grouped.get(key.customer_id, []), first, after) for key in group}


def _page(rows: list[PointsEntry], first: int, after: str | None) -> Page[PointsEntry]:
    edges = [(encode_cursor(row.occurred_at, row.id), row) for row in rows[:first]]
    return Page(edges, has_next_page=len(rows) > first, has_previous_page=after is not None)


class PointsEntryCountByCustomerLoader(DataLoader[uuid.UUID, int]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[int]:
        result = await self._db.execute(
            select(CUSTOMER, func.count()).where(CUSTOMER.in_(keys)).group_by(CUSTOMER)
        )
        rows: Sequence[Any] = result.all()
        found: dict[uuid.UUID, int] = {row[0]: int(row[1]) for row in rows}
        return [found.get(key, 0) for key in keys]
