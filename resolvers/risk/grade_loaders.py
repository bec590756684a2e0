"""The risk grade's reads for a page of customers, one query per kind (STYLE §5): the newest
history rows of each customer, and the reasons of the last evaluation's grade."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.growth.customer_metrics import CustomerMetrics
from models.risk.grade import RiskGradeChange

if TYPE_CHECKING:
    from core.context import Context


class RiskGradeHistoryByCustomerLoader(DataLoader[tuple[uuid.UUID, int], list[RiskGradeChange]]):
    """(customer, limit) → the newest ``limit`` changes, newest first: one query per limit."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[tuple[uuid.UUID, int]]) -> list[list[RiskGradeChange]]:
        found: dict[tuple[uuid.UUID, int], list[RiskGradeChange]] = {}
        for limit in {limit for _, limit in keys}:
            ids = [customer_id for customer_id, n in keys if n == limit]
            rank = func.row_number().over(
                partition_by=col(RiskGradeChange.customer_id),
                order_by=(col(RiskGradeChange.created_at).desc(), col(RiskGradeChange.id).desc()),
            )
            ranked = (
                select(RiskGradeChange, rank.label("rank"))
                .where(col(RiskGradeChange.customer_id).in_(ids))
                .subquery()
            )
            rows = await self._db.scalars(
                select(aliased(RiskGradeChange, ranked))
                .where(ranked.c.rank <= limit)
                .order_by(ranked.c.customer_id, ranked.c.rank)
            )
            grouped: dict[uuid.UUID, list[RiskGradeChange]] = defaultdict(list)
            for row in rows:
                grouped[row.customer_id].append(row)
            found.update({(customer_id, limit): grouped[customer_id] for customer_id in ids})
        return [found[key] for key in keys]


class RiskReasonsByCustomerLoader(DataLoader[uuid.UUID, list[str] | None]):
    """Why the last evaluation gave its grade (RiskGradeReason values); None: never graded."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[list[str] | None]:
        rows = await self._db.scalars(
            select(CustomerMetrics).where(col(CustomerMetrics.customer_id).in_(keys))
        )
        by_id = {row.customer_id: list(row.risk_reasons) for row in rows if row.risk_grade}
        return [by_id.get(key) for key in keys]
