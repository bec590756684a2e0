"""``analytics.growth.points``: the points ledger and the rewards catalogue in a range
(``resolvers.analytics.points``)."""

from __future__ import annotations

import strawberry

from resolvers.analytics import points as service
from schema.relay import to_global_id

SUPPRESSED = " Null for marketers when fewer than the minimum group of customers made it."


@strawberry.type(description="One reward's redemptions in the range.")
class RewardRedemptions:
    reward_id: strawberry.ID = strawberry.field(description="The reward (a Reward ID).")
    name: str = strawberry.field(description="The reward's name.")
    redemptions: int | None = strawberry.field(description="How many." + SUPPRESSED)
    points: int | None = strawberry.field(description="The points they cost." + SUPPRESSED)


@strawberry.type(description="Points and rewards of a range; points are positive sums.")
class PointsKpis:
    earned: int | None = strawberry.field(description="Points earned in the range." + SUPPRESSED)
    reversed: int | None = strawberry.field(
        description="Points taken back by refunds in the range." + SUPPRESSED
    )
    redeemed: int | None = strawberry.field(
        description="Points spent on rewards in the range." + SUPPRESSED
    )
    expired: int | None = strawberry.field(description="Points expired in the range." + SUPPRESSED)
    outstanding: int | None = strawberry.field(
        description="Points customers hold at the end of the range (every entry before `to`)."
        + SUPPRESSED
    )
    rewards: list[RewardRedemptions] = strawberry.field(
        description="Per reward redeemed in the range, by name."
    )

    @classmethod
    def from_result(cls, kpis: service.PointsKpis) -> PointsKpis:
        return cls(
            earned=kpis.earned,
            reversed=kpis.reversed,
            redeemed=kpis.redeemed,
            expired=kpis.expired,
            outstanding=kpis.outstanding,
            rewards=[
                RewardRedemptions(
                    reward_id=to_global_id("Reward", item.reward_id),
                    name=item.name,
                    redemptions=item.redemptions,
                    points=item.points,
                )
                for item in kpis.rewards
            ],
        )
