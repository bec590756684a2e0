"""Card servicing (issue 14): activate, freeze, unfreeze, report lost or stolen, close.

Every mutation field declares ``cards:write`` (``schema.scope_field``), checked before any of
this runs. Every action loads the card through ``card_scope`` (outside it: NOT_FOUND), checks
the caller may take the action (closing is for staff), checks the caller holds the current
``version`` (else CONFLICT, nothing written), asks the workflow table for the next status
(a refused move is a CONFLICT naming the actions allowed), writes the change with
``WHERE version = …`` so a concurrent writer cannot be overwritten, and appends its history
row and audit entry, all in one commit. A card reported lost or stolen becomes BLOCKED and a
replacement card with a new number (same BIN, product and limit) is issued and linked to it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.encryption import KeyRing
from core.errors import Conflict, Forbidden, NotFound
from core.identity import Principal, Scope
from core.text_limits import checked_text
from models.cards.card import PAN_INDEX, Card, CardStatus
from models.cards.history import CardEvent
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys
from models.customers.identifiers import generate_unionpay_pan
from models.sealing import seal_field
from resolvers.cards.scope import CARD_NOT_FOUND, card_scope
from resolvers.cards.workflow import CARD_WORKFLOW, CardAction

AuditEventFactory = Callable[..., AuditEvent]
_STAFF_ONLY = frozenset({CardAction.CLOSE})
_REPORTS = frozenset({CardAction.REPORT_LOST, CardAction.REPORT_STOLEN})
_PAN_ATTEMPTS = 5  # a fresh random number that is already some card's is (very) unlikely
_pan_source = random.SystemRandom()


@dataclass(frozen=True)
class CardChange:
    card_id: uuid.UUID
    version: int
    action: CardAction
    reason: str | None = None


@dataclass(frozen=True)
class CardChanged:
    """The card as it is now, and the replacement issued for it (reporting lost or stolen)."""

    card: Card
    replacement: Card | None = None


def _event(
    ring: KeyRing,
    card: Card,
    principal: Principal,
    action: CardAction,
    from_status: str | None,
    reason: str | None,
) -> CardEvent:
    event = CardEvent(
        card_id=card.id,
        action=action.value,
        actor_kind=principal.kind.value,
        actor_id=principal.subject,
        from_status=from_status,
        to_status=card.status,
    )
    seal_field(ring, event, "reason", reason, customer_id=card.customer_id)
    return event


def _authorize(principal: Principal, action: CardAction) -> None:
    if action in _STAFF_ONLY and not principal.is_staff:
        raise Forbidden("only staff close a card; call the bank or file a complaint")


async def _replacement(session: AsyncSession, ring: KeyRing, card: Card) -> Card:
    """A new ISSUED card for ``card``'s customer: a fresh Luhn-valid number with the same BIN,
    sealed and blind-indexed as every card number is; same product and credit limit."""
    for _ in range(_PAN_ATTEMPTS):
        pan = generate_unionpay_pan(_pan_source, card.bin[:6])
        index = ring.blind_index(PAN_INDEX, pan)
        taken = await session.scalar(select(Card.id).where(col(Card.pan_bidx) == index))
        if taken is None:
            break
    else:  # pragma: no cover - needs five collisions in a row
        raise Conflict("could not draw a new card number; retry", field="cardId")
    now = utcnow()
    row = Card(
        id=uuid.uuid4(),
        customer_id=card.customer_id,
        product=card.product,
        bin=pan[:6],
        last4=pan[-4:],
        credit_limit_cents=card.credit_limit_cents,
        status=CardStatus.ISSUED,
        issued_at=now,
        replaces_id=card.id,
        created_at=now,
        updated_at=now,
    )
    await ensure_customer_keys(session, ring, [card.customer_id])
    seal_field(ring, row, "pan", pan)
    row.pan_bidx = index
    return row


async def change_card(
    *,
    session: AsyncSession,
    ring: KeyRing,
    principal: Principal,
    change: CardChange,
    audit_event: AuditEventFactory,
) -> CardChanged:
    card = await session.scalar(
        select(Card).where(col(Card.id) == change.card_id, card_scope(principal, Scope.CARDS_WRITE))
    )
    if card is None:
        raise NotFound(CARD_NOT_FOUND, field="cardId")
    _authorize(principal, change.action)
    if card.version != change.version:
        raise Conflict(
            f"the card is at version {card.version}, not {change.version}; reload it and retry",
            field="version",
        )
    reason = checked_text("reason", change.reason, required=False)
    from_status = card.status
    status = CARD_WORKFLOW.next_state(CardStatus(from_status), change.action)
    now = utcnow()
    values: dict[str, Any] = {"status": status, "version": card.version + 1, "updated_at": now}
    if change.action is CardAction.ACTIVATE:
        values["activated_at"] = now
    replacement = None
    if change.action in _REPORTS:
        replacement = await _replacement(session, ring, card)
        session.add(replacement)
        await session.flush()
        values["replaced_by_id"] = replacement.id
    session.expunge(card)
    result = await session.execute(
        update(Card)
        .where(col(Card.id) == card.id, col(Card.version) == change.version)
        .values(values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict("the card changed meanwhile; reload it and retry", field="version")
    fresh = await session.get(Card, card.id, populate_existing=True)
    assert fresh is not None
    await ensure_customer_keys(session, ring, [fresh.customer_id])  # the reason is theirs
    session.add(_event(ring, fresh, principal, change.action, from_status, reason))
    events = [
        audit_event(
            f"card.{change.action.value}",
            target_type="Card",
            target_id=str(fresh.id),
            details={"from": from_status, "to": fresh.status, "version": fresh.version},
        )
    ]
    if replacement is not None:
        session.add(_event(ring, replacement, principal, CardAction.ISSUE, None, None))
        events.append(
            audit_event(
                "card.issue",
                target_type="Card",
                target_id=str(replacement.id),
                details={"replaces": str(fresh.id)},
            )
        )
    await audit.record_and_commit(session, *events)
    return CardChanged(fresh, replacement)
