"""Cards: the related rows a page of customers loads in one query.

Each loader is built once per request by ``context.loader(Kind)`` (core.context) and
returns results in key order (STYLE §5).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.cards.card import Card

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
