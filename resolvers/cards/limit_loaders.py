"""Credit limits: the related rows a page of cards (or of requests) loads in one query each.

Built once per request by ``context.loader(Kind)`` (core.context); results come back in key
order (STYLE §5).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.cards.limits import CreditLimitChange, CreditLimitRequest, LimitRequestStatus
from resolvers.cards.limit_queries import request_scope

if TYPE_CHECKING:
    from core.context import Context


class PendingLimitRequestByCardIdLoader(DataLoader[uuid.UUID, CreditLimitRequest | None]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db
        self._scope = request_scope(context.principal)

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[CreditLimitRequest | None]:
        rows = await self._db.scalars(
            select(CreditLimitRequest).where(
                col(CreditLimitRequest.card_id).in_(keys),
                col(CreditLimitRequest.status) == LimitRequestStatus.PENDING,
                self._scope,
            )
        )
        by_card = {row.card_id: row for row in rows}
        return [by_card.get(key) for key in keys]


class LimitChangesByCardIdLoader(DataLoader[tuple[uuid.UUID, int], list[CreditLimitChange]]):
    """Each card's newest ``first`` limit changes, for every card of the page in one query
    (numbered per card by a window function)."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[tuple[uuid.UUID, int]]) -> list[list[CreditLimitChange]]:
        most = max(first for _, first in keys)
        position = (
            func.row_number()
            .over(
                partition_by=col(CreditLimitChange.card_id),
                order_by=(col(CreditLimitChange.created_at).desc(), col(CreditLimitChange.id)),
            )
            .label("position")
        )
        numbered = (
            select(CreditLimitChange.id, position)  # type: ignore[call-overload]
            .where(col(CreditLimitChange.card_id).in_({card for card, _ in keys}))
            .subquery()
        )
        rows = await self._db.scalars(
            select(CreditLimitChange)
            .join(numbered, col(CreditLimitChange.id) == numbered.c.id)
            .where(numbered.c.position <= most)
            .order_by(col(CreditLimitChange.created_at).desc(), col(CreditLimitChange.id))
        )
        grouped: dict[uuid.UUID, list[CreditLimitChange]] = defaultdict(list)
        for row in rows:
            grouped[row.card_id].append(row)
        return [grouped.get(card, [])[:first] for card, first in keys]
