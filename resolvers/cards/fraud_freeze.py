"""Freezing a card because fraud on it was confirmed (a risk alert's decision, or the
customer answering "it was not me").

The alert decision is what authorises it (``resolvers.alert_decisions`` calls this in the
decision's transaction), so the caller's card scope is not asked again: a risk officer holds
``risk:write``, not ``cards:write``. It follows the card workflow: an ACTIVATED card moves to
FROZEN (``version`` + 1) with a history row ("confirmed fraud", sealed like every reason); a
card already frozen, blocked, closed or never activated stays as it is, so a decision never
fails on the card's state. The write is a compare-and-set on the status, so a concurrent
change is seen, not overwritten. The caller audits and commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.encryption import KeyRing
from core.identity import Principal
from models.cards.card import Card, CardStatus
from models.cards.history import CardEvent
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys
from models.sealing import seal_field
from resolvers.cards.workflow import CARD_WORKFLOW, CardAction

FRAUD_REASON = "confirmed fraud"


@dataclass(frozen=True)
class FraudFreeze:
    card_id: uuid.UUID
    from_status: str
    to_status: str

    @property
    def frozen(self) -> bool:
        """The card was active and is frozen now (else it was left as it was)."""
        return self.from_status != self.to_status


async def freeze_for_fraud(
    session: AsyncSession, ring: KeyRing, principal: Principal, card_id: uuid.UUID
) -> FraudFreeze:
    frozen_to = CARD_WORKFLOW.next_state(CardStatus.ACTIVATED, CardAction.FREEZE)
    result = await session.execute(
        update(Card)
        .where(col(Card.id) == card_id, col(Card.status) == CardStatus.ACTIVATED)
        .values(status=frozen_to, version=col(Card.version) + 1, updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    card = await session.get(Card, card_id, populate_existing=True)
    assert card is not None
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return FraudFreeze(card_id, card.status, card.status)
    event = CardEvent(
        card_id=card_id,
        action=CardAction.FREEZE.value,
        actor_kind=principal.kind.value,
        actor_id=principal.subject,
        from_status=CardStatus.ACTIVATED.value,
        to_status=frozen_to.value,
    )
    await ensure_customer_keys(session, ring, [card.customer_id])
    seal_field(ring, event, "reason", FRAUD_REASON, customer_id=card.customer_id)
    session.add(event)
    return FraudFreeze(card_id, CardStatus.ACTIVATED.value, frozen_to.value)
