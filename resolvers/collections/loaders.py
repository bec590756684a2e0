"""Collections: the related rows a page of cases loads in one query each (the card, the
contacts, each contact's interaction for its notes). Built once per request by
``context.loader(Kind)``; results come back in key order (STYLE §5). The cases are already
in the caller's scope, so their cards and contacts are theirs to see."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.collections.case import CollectionContact
from models.service_desk.interaction import Interaction

if TYPE_CHECKING:
    from core.context import Context


class ContactInteractionLoader(DataLoader[uuid.UUID, Interaction | None]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Interaction | None]:
        rows = await self._db.scalars(select(Interaction).where(col(Interaction.id).in_(keys)))
        by_id = {row.id: row for row in rows}
        return [by_id.get(key) for key in keys]


class ContactsByCaseLoader(DataLoader[tuple[uuid.UUID, int], list[CollectionContact]]):
    """Each case's newest ``first`` contacts, for every case of the page in one query
    (numbered per case by a window function)."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[tuple[uuid.UUID, int]]) -> list[list[CollectionContact]]:
        most = max(first for _, first in keys)
        order = (col(CollectionContact.occurred_at).desc(), col(CollectionContact.id))
        position = (
            func.row_number()
            .over(partition_by=col(CollectionContact.case_id), order_by=order)
            .label("position")
        )
        numbered = (
            select(CollectionContact.id, position)  # type: ignore[call-overload]
            .where(col(CollectionContact.case_id).in_({case for case, _ in keys}))
            .subquery()
        )
        rows = await self._db.scalars(
            select(CollectionContact)
            .join(numbered, col(CollectionContact.id) == numbered.c.id)
            .where(numbered.c.position <= most)
            .order_by(*order)
        )
        grouped: dict[uuid.UUID, list[CollectionContact]] = defaultdict(list)
        for row in rows:
            grouped[row.case_id].append(row)
        return [grouped.get(case, [])[:first] for case, first in keys]
