"""The customer base by tier and by lifecycle stage, read from the kept counts.

``customer_counts`` (models/customers/counts.py) holds the customers per (branch, tier,
stage), kept exact by triggers on ``customers``; one grouped read of its few rows gives both
breakdowns the growth KPIs show, where counting ``customers`` took two whole-table scans per
request (issue 17). The numbers are the full count's: every tier code and every stage is
listed, zeros included, stages nobody knows after the known ones.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlmodel import col

from core.request_database import RequestDatabase
from models.customers.counts import CustomerCount
from models.customers.customer import LifecycleStage
from models.growth.tier import Tier, TierCode
from resolvers.analytics.sql import KeyCount, in_branch


async def customer_base(
    db: RequestDatabase, branch_id: uuid.UUID | None
) -> tuple[list[KeyCount], list[KeyCount]]:
    """Today's customers of the branch (all when None) by tier code and by stage: one query."""
    stage = col(CustomerCount.lifecycle_stage)
    query = (
        select(col(Tier.code), stage, func.sum(col(CustomerCount.customers)))
        .select_from(CustomerCount)
        .join(Tier, col(Tier.id) == col(CustomerCount.tier_id))
        .where(*in_branch(CustomerCount.branch_id, branch_id))
        .group_by(col(Tier.code), stage)
    )
    by_tier: dict[str, int] = {}
    by_stage: dict[str, int] = {}
    for code, stage_value, count in map(tuple, (await db.execute(query)).all()):
        by_tier[str(code)] = by_tier.get(str(code), 0) + int(count)
        by_stage[str(stage_value)] = by_stage.get(str(stage_value), 0) + int(count)
    stages = [stage.value for stage in LifecycleStage]
    unknown = sorted(key for key, count in by_stage.items() if key not in stages and count > 0)
    return (
        [KeyCount(code.value, by_tier.get(code.value, 0)) for code in TierCode],
        [KeyCount(key, by_stage.get(key, 0)) for key in [*stages, *unknown]],
    )
