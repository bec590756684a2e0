"""Card tiers (standard → diamond)."""

from __future__ import annotations

import strawberry

from models.growth.tier import Tier as TierRow
from models.growth.tier import TierCode
from schema.relay import Node, to_global_id


@strawberry.type(description="A card tier with its benefits and service level.")
class Tier(Node):
    code: TierCode = strawberry.field(description="The tier's stable code.")
    name: str = strawberry.field(description="The tier's display name, e.g. `金卡 Gold`.")
    rank: int = strawberry.field(
        description="Its place on the ladder: a higher rank is a better tier."
    )
    benefits: list[str] = strawberry.field(
        description="The tier's benefits, one line each, for display."
    )
    service_level_hours: int = strawberry.field(
        description="The longest any complaint of this tier's customers may wait: its "
        "deadline is the severity's hours or these, whichever is sooner."
    )

    @classmethod
    def from_row(cls, row: TierRow) -> Tier:
        return cls(
            id=to_global_id("Tier", row.id),
            code=TierCode(row.code),
            name=row.name,
            rank=row.rank,
            benefits=list(row.benefits),
            service_level_hours=row.service_level_hours,
        )
