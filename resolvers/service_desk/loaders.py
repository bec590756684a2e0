"""Complaint timelines and customers' interactions, loaded for a page in one query per shape.

Each loader is built once per request by ``context.loader(Kind)`` (core.context) and
returns results in key order (STYLE §5).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.service_desk.complaint import ComplaintEvent
from models.service_desk.interaction import Interaction
from resolvers.pagination import Page, decode_cursor, encode_cursor
from resolvers.service_desk.interactions import InteractionFilter, interaction_conditions

if TYPE_CHECKING:
    from core.context import Context


class TimelineByComplaintIdLoader(DataLoader[uuid.UUID, list[ComplaintEvent]]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[list[ComplaintEvent]]:
        rows = await self._db.scalars(
            select(ComplaintEvent)
            .where(col(ComplaintEvent.complaint_id).in_(keys))
            .order_by(col(ComplaintEvent.created_at), col(ComplaintEvent.id))
        )
        grouped: dict[uuid.UUID, list[ComplaintEvent]] = defaultdict(list)
        for row in rows:
            grouped[row.complaint_id].append(row)
        return [grouped.get(key, []) for key in keys]


@dataclass(frozen=True)
class InteractionPageKey:
    """One customer's page of interactions; keys with equal (first, after, filter) batch."""

    customer_id: uuid.UUID
    first: int
    after: str | None
    filter: InteractionFilter


class InteractionPagesByCustomerLoader(DataLoader[InteractionPageKey, Page[Interaction]]):
    """Pages of interactions for many customers in one query per distinct page shape, with
    ``row_number() over (partition by customer)`` taking the first N + 1 of each."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[InteractionPageKey]) -> list[Page[Interaction]]:
        shapes: dict[tuple[int, str | None, InteractionFilter], list[InteractionPageKey]] = (
            defaultdict(list)
        )
        for key in keys:
            shapes[(key.first, key.after, key.filter)].append(key)
        pages: dict[InteractionPageKey, Page[Interaction]] = {}
        for (first, after, filter), group in shapes.items():
            pages.update(await self._pages(first, after, filter, group))
        return [pages[key] for key in keys]

    async def _pages(
        self,
        first: int,
        after: str | None,
        filter: InteractionFilter,
        group: list[InteractionPageKey],
    ) -> dict[InteractionPageKey, Page[Interaction]]:
        conditions = [
            col(Interaction.customer_id).in_([key.customer_id for key in group]),
            *interaction_conditions(filter),
        ]
        if after is not None:
            created, row_id = decode_cursor(after, "after")
            conditions.append(
                or_(
                    col(Interaction.occurred_at) < created,
                    and_(col(Interaction.occurred_at) == created, col(Interaction.id) < row_id),
                )
            )
        rank = func.row_number().over(
            partition_by=col(Interaction.customer_id),
            order_by=(col(Interaction.occurred_at).desc(), col(Interaction.id).desc()),
        )
        ranked = select(Interaction, rank.label("rank")).where(*conditions).subquery()
        numbered = aliased(Interaction, ranked)
        rows = await self._db.scalars(
            select(numbered)
            .where(ranked.c.rank <= first + 1)
            .order_by(ranked.c.customer_id, ranked.c.rank)
        )
        grouped: dict[uuid.UUID, list[Interaction]] = defaultdict(list)
        for row in rows:
            grouped[row.customer_id].append(row)
        return {key: _page(grouped.get(key.customer_id, []), first, after) for key in group}


def _page(rows: list[Interaction], first: int, after: str | None) -> Page[Interaction]:
    edges = [(encode_cursor(row.occurred_at, row.id), row) for row in rows[:first]]
    return Page(edges, has_next_page=len(rows) > first, has_previous_page=after is not None)


class InteractionCountByCustomerLoader(DataLoader[tuple[uuid.UUID, InteractionFilter], int]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[tuple[uuid.UUID, InteractionFilter]]) -> list[int]:
        counts: dict[tuple[uuid.UUID, InteractionFilter], int] = {}
        for filter in {f for _, f in keys}:
            ids = [customer_id for customer_id, f in keys if f == filter]
            result = await self._db.execute(
                select(col(Interaction.customer_id), func.count().label("n"))
                .where(col(Interaction.customer_id).in_(ids), *interaction_conditions(filter))
                .group_by(col(Interaction.customer_id))
            )
            found: dict[uuid.UUID, int] = {row.customer_id: int(row.n) for row in result.all()}
            counts.update({(customer_id, filter): found.get(customer_id, 0) for customer_id in ids})
        return [counts[key] for key in keys]
