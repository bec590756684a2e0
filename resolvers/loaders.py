"""Per-request DataLoaders: related objects load in one query per kind, whatever the page size.

Named ``<Thing>By<Key>Loader`` and returning results in key order (STYLE §5). ``Loaders``
builds each lazily, so a request that never touches cards never creates the card loader.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.card import Card
from models.organisation import Branch
from models.tier import Tier

if TYPE_CHECKING:
    from api.context import RequestDatabase


class CardsByCustomerIdLoader(DataLoader[uuid.UUID, list[Card]]):
    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[list[Card]]:
        column: Any = Card.customer_id
        cards = await self._db.scalars(
            select(Card).where(column.in_(keys)).order_by(col(Card.created_at), col(Card.id))
        )
        grouped: dict[uuid.UUID, list[Card]] = defaultdict(list)
        for card in cards:
            grouped[card.customer_id].append(card)
        return [grouped.get(key, []) for key in keys]


class TierByIdLoader(DataLoader[uuid.UUID, Tier | None]):
    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Tier | None]:
        column: Any = Tier.id
        by_id = {
            tier.id: tier for tier in await self._db.scalars(select(Tier).where(column.in_(keys)))
        }
        return [by_id.get(key) for key in keys]


class BranchByIdLoader(DataLoader[uuid.UUID, Branch | None]):
    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Branch | None]:
        column: Any = Branch.id
        rows = await self._db.scalars(select(Branch).where(column.in_(keys)))
        by_id = {branch.id: branch for branch in rows}
        return [by_id.get(key) for key in keys]


class Loaders:
    def __init__(self, db: RequestDatabase) -> None:
        self._db = db

    @cached_property
    def cards_by_customer_id(self) -> CardsByCustomerIdLoader:
        return CardsByCustomerIdLoader(self._db)

    @cached_property
    def tier_by_id(self) -> TierByIdLoader:
        return TierByIdLoader(self._db)

    @cached_property
    def branch_by_id(self) -> BranchByIdLoader:
        return BranchByIdLoader(self._db)
