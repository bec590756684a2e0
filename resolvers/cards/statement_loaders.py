"""A page of cards' statements and account figures, loaded in one query per shape.

``CardAccountByCardLoader`` gives each card its latest statement and what happened since
(two queries for a whole page of cards): ``balance`` is that statement's balance plus the
purchases, minus the refunds and repayments, booked since it closed. Statement pages are
newest first, keyset-paged on the cycle end (unique per card).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col
from strawberry.dataloader import DataLoader

from models.cards.statement import Statement
from models.transactions.transaction import Transaction, TransactionKind
from resolvers.pagination import Page, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from core.context import Context


@dataclass(frozen=True)
class CardAccount:
    """A card's latest statement (None before its first close) and its activity since."""

    statement: Statement | None
    purchases_cents: int = 0
    refunds_cents: int = 0
    repayments_cents: int = 0

    @property
    def balance_cents(self) -> int:
        opening = self.statement.balance_cents if self.statement else 0
        return opening + self.purchases_cents - self.refunds_cents - self.repayments_cents


def _latest(card_ids: Sequence[uuid.UUID]) -> Any:
    return (
        select(col(Statement.card_id), func.max(col(Statement.cycle_end)).label("cycle_end"))
        .where(col(Statement.card_id).in_(card_ids))
        .group_by(col(Statement.card_id))
        .subquery()
    )


def _sum(kind: TransactionKind) -> Any:
    amount = col(Transaction.amount_cents)
    return func.coalesce(func.sum(case((col(Transaction.kind) == kind, amount), else_=0)), 0)


class CardAccountByCardLoader(DataLoader[uuid.UUID, CardAccount]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[CardAccount]:
        latest = _latest(keys)
        statements = {
            row.card_id: row
            for row in await self._db.scalars(
                select(Statement).join(
                    latest,
                    and_(
                        col(Statement.card_id) == latest.c.card_id,
                        col(Statement.cycle_end) == latest.c.cycle_end,
                    ),
                )
            )
        }
        since = aliased(Statement)
        activity = await self._db.execute(
            select(
                col(Transaction.card_id),
                _sum(TransactionKind.PURCHASE).label("purchases"),
                _sum(TransactionKind.REFUND).label("refunds"),
                _sum(TransactionKind.REPAYMENT).label("repayments"),
            )
            .select_from(Transaction)
            .outerjoin(latest, latest.c.card_id == col(Transaction.card_id))
            .outerjoin(
                since,
                and_(
                    col(since.card_id) == latest.c.card_id,
                    col(since.cycle_end) == latest.c.cycle_end,
                ),
            )
            .where(
                col(Transaction.card_id).in_(keys),
                or_(
                    col(since.closes_at).is_(None),
                    col(Transaction.occurred_at) >= col(since.closes_at),
                ),
            )
            .group_by(col(Transaction.card_id))
        )
        sums = {row.card_id: row for row in activity.all()}
        accounts = []
        for key in keys:
            row = sums.get(key)
            figures = (
                (int(row.purchases), int(row.refunds), int(row.repayments)) if row else (0, 0, 0)
            )
            accounts.append(CardAccount(statements.get(key), *figures))
        return accounts


@dataclass(frozen=True)
class StatementPageKey:
    """One card's page of statements; keys with equal (first, after) batch."""

    card_id: uuid.UUID
    first: int
    after: str | None


def statement_cursor(row: Statement) -> str:
    return encode_cursor(datetime.combine(row.cycle_end, time(), UTC), row.card_id)


def _cycle_end_before(after: str) -> date:
    moment, _ = decode_cursor(after, "after")
    return moment.date()


class StatementPagesByCardLoader(DataLoader[StatementPageKey, Page[Statement]]):
    """Pages of statements for many cards in one query per distinct page shape, with
    ``row_number() over (partition by card)`` taking the first N + 1 of each."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[StatementPageKey]) -> list[Page[Statement]]:
        shapes: dict[tuple[int, str | None], list[StatementPageKey]] = defaultdict(list)
        for key in keys:
            shapes[(key.first, key.after)].append(key)
        pages: dict[StatementPageKey, Page[Statement]] = {}
        for (first, after), group in shapes.items():
            pages.update(await self._pages(first, after, group))
        return [pages[key] for key in keys]

    async def _pages(
        self, first: int, after: str | None, group: list[StatementPageKey]
    ) -> dict[StatementPageKey, Page[Statement]]:
        conditions: list[Any] = [col(Statement.card_id).in_([key.card_id for key in group])]
        if after is not None:
            conditions.append(col(Statement.cycle_end) < _cycle_end_before(after))
        rank = func.row_number().over(
            partition_by=col(Statement.card_id), order_by=col(Statement.cycle_end).desc()
        )
        ranked = select(Statement, rank.label("rank")).where(*conditions).subquery()
        numbered = aliased(Statement, ranked)
        rows = await self._db.scalars(
            select(numbered)
            .where(ranked.c.rank <= first + 1)
            .order_by(ranked.c.card_id, ranked.c.rank)
        )
        grouped: dict[uuid.UUID, list[Statement]] = defaultdict(list)
        for row in rows:
            grouped[row.card_id].append(row)
        return {key: _page(grouped.get(key.card_id, []), first, after) for key in group}


def _page(rows: list[Statement], first: int, after: str | None) -> Page[Statement]:
    edges = [(statement_cursor(row), row) for row in rows[:first]]
    return Page(edges, has_next_page=len(rows) > first, has_previous_page=after is not None)


class StatementCountByCardLoader(DataLoader[uuid.UUID, int]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[int]:
        result = await self._db.execute(
            select(col(Statement.card_id), func.count().label("n"))
            .where(col(Statement.card_id).in_(keys))
            .group_by(col(Statement.card_id))
        )
        found = {row.card_id: int(row.n) for row in result.all()}
        return [found.get(key, 0) for key in keys]
