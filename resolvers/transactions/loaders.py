"""Pages of transactions for a page of customers or cards, one query per page shape.

As ``InteractionPagesByCustomerLoader`` does: keys with equal (first, after, filter) share one
query, where ``row_number() over (partition by owner)`` takes each owner's first N + 1 rows,
newest first by (occurred_at, id), each with its card. Each loader is built once per request
by ``context.loader(Kind)`` (core.context) and returns results in key order (STYLE §5).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.cards.card import Card
from models.transactions.transaction import Transaction
from resolvers.pagination import Page, decode_cursor, encode_cursor
from resolvers.transactions.reading import (
    TransactionFilter,
    TransactionView,
    transaction_conditions,
)

if TYPE_CHECKING:
    from core.context import Context


@dataclass(frozen=True)
class TransactionPageKey:
    """One owner's (customer's or card's) page; keys with equal (first, after, filter)
    batch into one query."""

    owner_id: uuid.UUID
    first: int
    after: str | None
    filter: TransactionFilter


Shape = tuple[int, str | None, TransactionFilter]


class TransactionPages(DataLoader[TransactionPageKey, Page[TransactionView]]):
    """Pages partitioned by ``_owner()``: a card's id or its customer's."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    @staticmethod
    def _owner() -> Any:
        raise NotImplementedError

    async def _load(self, keys: Sequence[TransactionPageKey]) -> list[Page[TransactionView]]:
        shapes: dict[Shape, list[TransactionPageKey]] = defaultdict(list)
        for key in keys:
            shapes[(key.first, key.after, key.filter)].append(key)
        pages: dict[TransactionPageKey, Page[TransactionView]] = {}
        for (first, after, filter), group in shapes.items():
            pages.update(await self._pages(first, after, filter, group))
        return [pages[key] for key in keys]

    async def _pages(
        self,
        first: int,
        after: str | None,
        filter: TransactionFilter,
        group: list[TransactionPageKey],
    ) -> dict[TransactionPageKey, Page[TransactionView]]:
        owner = self._owner()
        conditions = [
            owner.in_([key.owner_id for key in group]),
            *transaction_conditions(filter),
        ]
        if after is not None:
            occurred, row_id = decode_cursor(after, "after")
            conditions.append(
                or_(
                    col(Transaction.occurred_at) < occurred,
                    and_(col(Transaction.occurred_at) == occurred, col(Transaction.id) < row_id),
                )
            )
        rank = func.row_number().over(
            partition_by=owner,
            order_by=(col(Transaction.occurred_at).desc(), col(Transaction.id).desc()),
        )
        ranked = (
            select(Transaction, owner.label("owner"), rank.label("rank"))
            .join(Card, col(Card.id) == col(Transaction.card_id))
            .where(*conditions)
            .subquery()
        )
        numbered = aliased(Transaction, ranked)
        result = await self._db.execute(
            select(numbered, Card, ranked.c.owner)
            .join(Card, col(Card.id) == ranked.c.card_id)
            .where(ranked.c.rank <= first + 1)
            .order_by(ranked.c.owner, ranked.c.rank)
        )
        grouped: dict[uuid.UUID, list[TransactionView]] = defaultdict(list)
        records: Sequence[Any] = result.all()
        for transaction, card, owner_id in records:
            grouped[owner_id].append(TransactionView(transaction, card))
        return {key: _page(grouped.get(key.owner_id, []), first, after) for key in group}


def _page(rows: list[TransactionView], first: int, after: str | None) -> Page[TransactionView]:
    edges = [
        (encode_cursor(view.transaction.occurred_at, view.transaction.id), view)
        for view in rows[:first]
    ]
    return Page(edges, has_next_page=len(rows) > first, has_previous_page=after is not None)


class TransactionPagesByCustomerLoader(TransactionPages):
    @staticmethod
    def _owner() -> Any:
        return col(Card.customer_id)


class TransactionPagesByCardLoader(TransactionPages):
    @staticmethod
    def _owner() -> Any:
        return col(Transaction.card_id)


class TransactionCounts(DataLoader[tuple[uuid.UUID, TransactionFilter], int]):
    """How many transactions match per owner, one query per distinct filter."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    @staticmethod
    def _owner() -> Any:
        raise NotImplementedError

    async def _load(self, keys: Sequence[tuple[uuid.UUID, TransactionFilter]]) -> list[int]:
        owner = self._owner()
        counts: dict[tuple[uuid.UUID, TransactionFilter], int] = {}
        for filter in {f for _, f in keys}:
            ids = [owner_id for owner_id, f in keys if f == filter]
            result = await self._db.execute(
                select(owner.label("owner"), func.count().label("n"))
                .select_from(Transaction)
                .join(Card, col(Card.id) == col(Transaction.card_id))
                .where(owner.in_(ids), *transaction_conditions(filter))
                .group_by(owner)
            )
            found: dict[uuid.UUID, int] = {row.owner: int(row.n) for row in result.all()}
            counts.update({(owner_id, filter): found.get(owner_id, 0) for owner_id in ids})
        return [counts[key] for key in keys]


class TransactionCountByCustomerLoader(TransactionCounts):
    @staticmethod
    def _owner() -> Any:
        return col(Card.customer_id)


class TransactionCountByCardLoader(TransactionCounts):
    @staticmethod
    def _owner() -> Any:
        return col(Transaction.card_id)
