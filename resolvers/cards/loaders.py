"""Cards: the related rows a page of customers (and of cards) loads in one query each.

Each loader is built once per request by ``context.loader(Kind)`` (core.context) and
returns results in key order (STYLE §5).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.cards.card import Card
from models.cards.history import CardEvent

if TYPE_CHECKING:
    from core.context import Context


class CardsByCustomerIdLoader(DataLoader[uuid.UUID, list[Card]]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[list[Card]]:
        column: Any = Card.customer_id
        cards = await self._db.scalars(
            select(Card).where(column.in_(keys)).order_by(col(Card.created_at), col(Card.id))
        )
        grouped: dict[uuid.UUID, list[Card]] = defaultdict(list)
        for card in cards:
            grouped[card.customer_id].append(card)
        return [grouped.get(key, []) for key in keys]


class CardByIdLoader(DataLoader[uuid.UUID, Card | None]):
    """Cards by id: a card's replacement and the card it replaces (the same customer's, so
    reached exactly when the card that names them is)."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Card | None]:
        column: Any = Card.id
        found = {
            card.id: card for card in await self._db.scalars(select(Card).where(column.in_(keys)))
        }
        return [found.get(key) for key in keys]


class HistoryByCardLoader(DataLoader[tuple[uuid.UUID, int], list[CardEvent]]):
    """The newest ``first`` history rows of each card: one query per distinct ``first``,
    ``row_number() over (partition by card)``."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[tuple[uuid.UUID, int]]) -> list[list[CardEvent]]:
        rows: dict[tuple[uuid.UUID, int], list[CardEvent]] = defaultdict(list)
        for first in {first for _, first in keys}:
            ids = [card_id for card_id, size in keys if size == first]
            rank = func.row_number().over(
                partition_by=col(CardEvent.card_id),
                order_by=(col(CardEvent.created_at).desc(), col(CardEvent.id).desc()),
            )
            ranked = (
                select(CardEvent, rank.label("rank"))
                .where(col(CardEvent.card_id).in_(ids))
                .subquery()
            )
            numbered = aliased(CardEvent, ranked)
            for event in await self._db.scalars(
                select(numbered)
                .where(ranked.c.rank <= first)
                .order_by(ranked.c.card_id, ranked.c.rank)
            ):
                rows[(event.card_id, first)].append(event)
        return [rows.get(key, []) for key in keys]
