"""Tiers, evaluation figures and histories: loaded for a page in one query per kind.

Each loader is built once per request by ``context.loader(Kind)`` (core.context) and
returns results in key order (STYLE §5).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.columns import utcnow
from models.customers.customer import LifecycleHistory
from models.growth.customer_metrics import CustomerMetrics
from models.growth.tier import Tier, TierHistory
from resolvers.growth.tier_catalogue import TierCatalogue
from resolvers.growth.tier_rules import TierRule
from resolvers.growth.tier_terms import bank_day, ladder_query, rules_in_force

if TYPE_CHECKING:
    from core.context import Context
    from core.request_database import RequestDatabase


class TierByIdLoader(DataLoader[uuid.UUID, Tier | None]):
    """Tiers come from the process's ``TierCatalogue``: no statement while it is fresh."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db
        self._catalogue = context.state.part(TierCatalogue)

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Tier | None]:
        by_id = await self._catalogue.by_id(self._db)
        return [by_id.get(key) for key in keys]


class MetricsByCustomerIdLoader(DataLoader[uuid.UUID, CustomerMetrics | None]):
    """The last evaluation's figures (None: never evaluated)."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[CustomerMetrics | None]:
        column = col(CustomerMetrics.customer_id)
        rows = await self._db.scalars(select(CustomerMetrics).where(column.in_(keys)))
        by_id = {row.customer_id: row for row in rows}
        return [by_id.get(key) for key in keys]


TIER_LADDER = "all"


class TierLadderLoader(DataLoader[str, list[tuple[Tier, TierRule]]]):
    """Every tier, lowest rank first, with the rule it qualifies by today (its terms in force,
    ``resolvers.growth.tier_terms``), under the one key ``TIER_LADDER``."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db
        self._timezone = context.settings.contact_timezone

    async def _load(self, keys: Sequence[str]) -> list[list[tuple[Tier, TierRule]]]:
        rows: list[Any] = list(
            (await self._db.execute(ladder_query(bank_day(utcnow(), self._timezone)))).all()
        )
        ladder = list(zip([tier for tier, _ in rows], rules_in_force(rows), strict=True))
        return [ladder for _ in keys]


History = TypeVar("History", LifecycleHistory, TierHistory)


async def _newest_per_customer(
    db: RequestDatabase, model: type[History], keys: Sequence[tuple[uuid.UUID, int]]
) -> list[list[History]]:
    """The newest ``limit`` history rows of each (customer, limit): one query per limit."""
    found: dict[tuple[uuid.UUID, int], list[History]] = {}
    for limit in {limit for _, limit in keys}:
        ids = [customer_id for customer_id, n in keys if n == limit]
        rank = func.row_number().over(
            partition_by=col(model.customer_id),
            order_by=(col(model.created_at).desc(), col(model.id).desc()),
        )
        ranked = select(model, rank.label("rank")).where(col(model.customer_id).in_(ids)).subquery()
        rows = await db.scalars(
            select(aliased(model, ranked))
            .where(ranked.c.rank <= limit)
            .order_by(ranked.c.customer_id, ranked.c.rank)
        )
        grouped: dict[uuid.UUID, list[History]] = defaultdict(list)
        for row in rows:
            grouped[row.customer_id].append(row)
        found.update({(customer_id, limit): grouped[customer_id] for customer_id in ids})
    return [found[key] for key in keys]


class LifecycleHistoryByCustomerLoader(DataLoader[tuple[uuid.UUID, int], list[LifecycleHistory]]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[tuple[uuid.UUID, int]]) -> list[list[LifecycleHistory]]:
        return await _newest_per_customer(self._db, LifecycleHistory, keys)


class TierHistoryByCustomerLoader(DataLoader[tuple[uuid.UUID, int], list[TierHistory]]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[tuple[uuid.UUID, int]]) -> list[list[TierHistory]]:
        return await _newest_per_customer(self._db, TierHistory, keys)
