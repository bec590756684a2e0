"""A card's history: one entry per change of status. The reason is C2 (sealed)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models.cards.card import CardStatus
from models.cards.history import CardEvent
from resolvers.cards.workflow import CardAction
from schema.policy_field import sealed_field


@strawberry.type(description="One append-only step of a card's history: who, why and when.")
class CardHistoryEntry:
    action: CardAction = strawberry.field(description="What was done.")
    actor_kind: str = strawberry.field(
        description="Who did it: `staff` or `customer` (the card's own, in the app)."
    )
    from_status: CardStatus | None = strawberry.field(
        description="The status before; null on the entry that issues a replacement card."
    )
    to_status: CardStatus | None = strawberry.field(description="The status after.")
    created_at: datetime = strawberry.field(description="When it was done (ISO 8601, UTC).")
    _row: strawberry.Private[CardEvent]

    reason = sealed_field("CardHistoryEntry", "reason", "reason")

    @classmethod
    def from_row(cls, row: CardEvent) -> CardHistoryEntry:
        return cls(
            action=CardAction(row.action),
            actor_kind=row.actor_kind,
            from_status=CardStatus(row.from_status) if row.from_status else None,
            to_status=CardStatus(row.to_status) if row.to_status else None,
            created_at=row.created_at,
            _row=row,
        )
