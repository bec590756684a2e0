"""``Customer.complaints`` for a page of customers in two queries, not two per customer.

The loaders are the caller's own (``context.loader``, built with the caller's principal): a
complaint is listed under its customer only inside the caller's complaint scope, exactly as
``complaints`` lists it, and the cursors are ``complaints``' own (creation time, id; newest first).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.service_desk.complaint import Complaint
from resolvers.pagination import Page, decode_cursor, encode_cursor
from resolvers.service_desk.complaints import ComplaintFilter, complaint_conditions

if TYPE_CHECKING:
    from core.context import Context


@dataclass(frozen=True)
class ComplaintPageKey:
    """One customer's page of complaints; keys with equal (first, after, filter) batch."""

    customer_id: uuid.UUID
    first: int
    after: str | None
    filter: ComplaintFilter


class ComplaintPagesByCustomerLoader(DataLoader[ComplaintPageKey, Page[Complaint]]):
    """One query per distinct page shape, ``row_number() over (partition by customer)``
    taking the first N + 1 of each customer's complaints in the caller's scope."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db
        self._principal = context.principal

    async def _load(self, keys: Sequence[ComplaintPageKey]) -> list[Page[Complaint]]:
        shapes: dict[tuple[int, str | None, ComplaintFilter], list[ComplaintPageKey]] = defaultdict(
            list
        )
        for key in keys:
            shapes[(key.first, key.after, key.filter)].append(key)
        pages: dict[ComplaintPageKey, Page[Complaint]] = {}
        for (first, after, filter), group in shapes.items():
            pages.update(await self._pages(first, after, filter, group))
        return [pages[key] for key in keys]

    async def _pages(
        self, first: int, after: str | None, filter: ComplaintFilter, group: list[ComplaintPageKey]
    ) -> dict[ComplaintPageKey, Page[Complaint]]:
        conditions = [
            col(Complaint.customer_id).in_([key.customer_id for key in group]),
            *complaint_conditions(self._principal, replace(filter, customer_id=None)),
        ]
        if after is not None:
            created, row_id = decode_cursor(after, "after")
            conditions.append(
                or_(
                    col(Complaint.created_at) < created,
                    and_(col(Complaint.created_at) == created, col(Complaint.id) < row_id),
                )
            )
        rank = func.row_number().over(
            partition_by=col(Complaint.customer_id),
            order_by=(col(Complaint.created_at).desc(), col(Complaint.id).desc()),
        )
        ranked = select(Complaint, rank.label("rank")).where(*conditions).subquery()
        numbered = aliased(Complaint, ranked)
        rows = await self._db.scalars(
            select(numbered)
            .where(ranked.c.rank <= first + 1)
            .order_by(ranked.c.customer_id, ranked.c.rank)
        )
        grouped: dict[uuid.UUID, list[Complaint]] = defaultdict(list)
        for row in rows:
            grouped[row.customer_id].append(row)
        return {key: _page(grouped.get(key.customer_id, []), first, after) for key in group}


def _page(rows: list[Complaint], first: int, after: str | None) -> Page[Complaint]:
    edges = [(encode_cursor(row.created_at, row.id), row) for row in rows[:first]]
    return Page(edges, has_next_page=len(rows) > first, has_previous_page=after is not None)


class ComplaintCountByCustomerLoader(DataLoader[tuple[uuid.UUID, ComplaintFilter], int]):
    """``totalCount`` of each customer's complaints in the caller's scope, one GROUP BY per
    distinct filter."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db
        self._principal = context.principal

    async def _load(self, keys: Sequence[tuple[uuid.UUID, ComplaintFilter]]) -> list[int]:
        counts: dict[tuple[uuid.UUID, ComplaintFilter], int] = {}
        for filter in {f for _, f in keys}:
            ids = [customer_id for customer_id, f in keys if f == filter]
            conditions = complaint_conditions(self._principal, replace(filter, customer_id=None))
            result = await self._db.execute(
                select(col(Complaint.customer_id), func.count().label("n"))
                .where(col(Complaint.customer_id).in_(ids), *conditions)
                .group_by(col(Complaint.customer_id))
            )
            found = {row.customer_id: int(row.n) for row in result.all()}
            counts.update({(customer_id, filter): found.get(customer_id, 0) for customer_id in ids})
        return [counts[key] for key in keys]
