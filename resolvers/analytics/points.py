"""Points and rewards in ``analytics.growth``: points earned, reversed, redeemed and expired
in the range, outstanding at its end, and rewards redeemed per reward — three queries,
computed by the database.

- **earned / reversed / redeemed / expired**: the ledger entries of each kind whose
  ``occurred_at`` is in ``[from, to)``, as positive sums;
- **outstanding**: the sum of every entry before ``to`` (what customers hold at the end);
- **rewards**: redemptions in the range per reward: how many, and the points they cost.

The branch filter applies to the customer's branch. Marketers see a figure only when it
comes from at least ``stats_min_group_size`` distinct customers (``resolvers.suppression``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlmodel import col

from models.customers.customer import Customer
from models.loyalty.ledger import PointsEntry, PointsKind
from models.loyalty.reward import Reward, RewardRedemption
from resolvers.analytics.sql import in_branch, in_range
from resolvers.suppression import Suppressor

SIGN = {
    PointsKind.EARN.value: 1,
    PointsKind.REVERSE.value: -1,
    PointsKind.REDEEM.value: -1,
    PointsKind.EXPIRE.value: -1,
}


@dataclass(frozen=True)
class RewardRedeemed:
    reward_id: uuid.UUID
    name: str
    redemptions: int | None
    points: int | None


@dataclass(frozen=True)
class PointsKpis:
    earned: int | None
    reversed: int | None
    redeemed: int | None
    expired: int | None
    outstanding: int | None
    rewards: list[RewardRedeemed]


async def points_kpis(
    *,
    db: Any,
    suppress: Suppressor,
    date_from: datetime,
    date_to: datetime,
    branch_id: uuid.UUID | None,
) -> PointsKpis:
    """The caller's range and branch were checked by ``growth_kpis``."""
    entry_customer = col(Customer.id) == col(PointsEntry.customer_id)
    branch = in_branch(col(Customer.branch_id), branch_id)
    kinds = await db.execute(
        select(
            col(PointsEntry.kind),
            func.sum(col(PointsEntry.points)),
            func.count(distinct(col(PointsEntry.customer_id))),
        )
        .join(Customer, entry_customer)
        .where(*in_range(col(PointsEntry.occurred_at), date_from, date_to), *branch)
        .group_by(col(PointsEntry.kind))
    )
    by_kind = {kind: (int(total) * SIGN.get(kind, 1), int(n)) for kind, total, n in kinds.all()}

    def figure(kind: PointsKind) -> int | None:
        total, customers = by_kind.get(kind.value, (0, 0))
        return suppress.figure(total, customers=customers)

    held = (
        await db.execute(
            select(
                func.coalesce(func.sum(col(PointsEntry.points)), 0),
                func.count(distinct(col(PointsEntry.customer_id))),
            )
            .join(Customer, entry_customer)
            .where(col(PointsEntry.occurred_at) < date_to, *branch)
        )
    ).one()
    rewards = await db.execute(
        select(
            col(Reward.id),
            col(Reward.name),
            func.count(),
            func.sum(col(RewardRedemption.points)),
            func.count(distinct(col(RewardRedemption.customer_id))),
        )
        .join(Reward, col(Reward.id) == col(RewardRedemption.reward_id))
        .join(Customer, col(Customer.id) == col(RewardRedemption.customer_id))
        .where(*in_range(col(RewardRedemption.created_at), date_from, date_to), *branch)
        .group_by(col(Reward.id), col(Reward.name))
        .order_by(col(Reward.name), col(Reward.id))
    )
    return PointsKpis(
        earned=figure(PointsKind.EARN),
        reversed=figure(PointsKind.REVERSE),
        redeemed=figure(PointsKind.REDEEM),
        expired=figure(PointsKind.EXPIRE),
        outstanding=suppress.figure(int(held[0]), customers=int(held[1])),
        rewards=[
            RewardRedeemed(
                reward_id,
                name,
                suppress.figure(int(count), customers=int(customers)),
                suppress.figure(int(points), customers=int(customers)),
            )
            for reward_id, name, count, points, customers in rewards.all()
        ],
    )
