"""``segmentCounts``: how many customers a filter matches in the caller's scope, and how they
split by segment, lifecycle stage and tier, in four statements whatever their number.

Marketers get counts, never people (``customers:list``), so their counts hide every group of
1 to ``stats_min_group_size - 1`` customers (``resolvers.suppression``), the total included:
otherwise a filter narrowed to one person would tell, condition by condition, what the
marketer may not list. The roles that may list the customers anyway get exact counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, true
from sqlmodel import col

from core.identity import Principal, Role
from core.request_database import RequestDatabase
from core.settings import Settings
from models.customers.customer import Customer
from models.growth.tier import Tier
from resolvers.customers.segment_filter import SegmentFilter, checked_filter, filter_conditions
from resolvers.json_lists import json_list_values
from resolvers.suppression import EXACT, Suppressor

# Who reads counts without a list (analytics suppresses the same role: resolvers/analytics).
SUPPRESSED_ROLES = frozenset({Role.MARKETER})


@dataclass(frozen=True)
class GroupCount:
    key: str
    customers: int | None  # None: suppressed


@dataclass(frozen=True)
class SegmentCounts:
    customers: int | None
    min_group_size: int
    by_segment: list[GroupCount]
    by_stage: list[GroupCount]
    by_tier: list[GroupCount]


def suppressor_for(principal: Principal, settings: Settings) -> Suppressor:
    if principal.role in SUPPRESSED_ROLES:
        return Suppressor(settings.stats_min_group_size)
    return EXACT


async def count_matching(
    db: RequestDatabase, principal: Principal, settings: Settings, data: SegmentFilter
) -> int | None:
    """The number of customers the filter matches in scope (None: suppressed)."""
    conditions = filter_conditions(principal, checked_filter(data))
    total = await db.scalar(select(func.count()).select_from(Customer).where(*conditions))
    return suppressor_for(principal, settings).count(int(total or 0))


async def segment_counts(
    db: RequestDatabase, principal: Principal, settings: Settings, data: SegmentFilter
) -> SegmentCounts:
    conditions = filter_conditions(principal, checked_filter(data))
    suppress = suppressor_for(principal, settings)

    def groups(rows: list[tuple[str, int]]) -> list[GroupCount]:
        return [GroupCount(str(key), suppress.count(int(n))) for key, n in sorted(rows)]

    async with db.exclusive() as session:
        dialect = session.get_bind().dialect.name
        total = await session.scalar(select(func.count()).select_from(Customer).where(*conditions))
        stage = col(Customer.lifecycle_stage)
        by_stage = await session.execute(
            select(stage, func.count()).where(*conditions).group_by(stage)
        )
        code = col(Tier.code)
        by_tier = await session.execute(
            select(code, func.count())
            .select_from(Customer)
            .join(Tier, col(Tier.id) == col(Customer.tier_id))
            .where(*conditions)
            .group_by(code)
        )
        segments = json_list_values(Customer.segments, dialect)
        by_segment = await session.execute(
            select(segments.c.value, func.count())
            .select_from(Customer)
            .join(segments, true())
            .where(*conditions)
            .group_by(segments.c.value)
        )
        return SegmentCounts(
            customers=suppress.count(int(total or 0)),
            min_group_size=suppress.min_group_size,
            by_segment=groups([tuple(row) for row in by_segment.all()]),  # type: ignore[misc]
            by_stage=groups([tuple(row) for row in by_stage.all()]),  # type: ignore[misc]
            by_tier=groups([tuple(row) for row in by_tier.all()]),  # type: ignore[misc]
        )
