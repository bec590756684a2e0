"""Changing a card's credit limit: the one write every path shares, the risk-driven decrease
(the brief's 降低信用额度), and the set-based revert of ended temporary limits.

Every change sets ``cards.credit_limit_cents`` with the card's ``version`` + 1 and inserts one
``credit_limit_changes`` row in the same transaction. A temporary limit (an approved request
with ``temporary_until``) keeps the limit to go back to (``revert_to_cents``); ``limits
revert`` ends every one whose last day is before its date, going back to the lower of that
limit and the card's current one, so a revert never raises a limit that risk lowered meanwhile.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.encryption import KeyRing
from core.errors import BadUserInput, Conflict, NotFound
from core.identity import Principal
from core.money import yuan_text
from core.text_limits import checked_text
from models.cards.card import Card, CardStatus
from models.cards.limits import (
    CreditLimitChange,
    CreditLimitRequest,
    LimitChangeKind,
    LimitRequestStatus,
    RiskReason,
)
from models.columns import new_id, utcnow
from models.customer_keys import ensure_customer_keys
from models.customers.customer import Customer
from models.sealing import seal_field
from resolvers.scoping import customer_scope

CARD_NOT_FOUND = "no card with this id is visible to you"
DECREASE_ACTION = "card.limit_decrease"
REVERT_ACTION = "card.limit_revert"


async def visible_card(
    session: AsyncSession, principal: Principal, card_id: uuid.UUID
) -> tuple[Card, uuid.UUID]:
    """The card and its customer's branch, if the card's customer is in the caller's scope
    (else NOT_FOUND); locked for the transaction on PostgreSQL."""
    row = (
        await session.execute(
            select(Card, Customer.branch_id)
            .join(Customer, col(Customer.id) == col(Card.customer_id))
            .where(col(Card.id) == card_id, customer_scope(principal))
            .with_for_update(of=Card)  # type: ignore[arg-type]
        )
    ).first()
    if row is None:
        raise NotFound(CARD_NOT_FOUND, field="cardId")
    card, branch_id = row
    if card.status == CardStatus.CLOSED:
        raise Conflict("the card is closed; its limit no longer changes", field="cardId")
    return card, branch_id


async def set_limit(session: AsyncSession, card: Card, new_limit_cents: int) -> None:
    """The card's new limit and version (the caller adds the history row and commits)."""
    await session.execute(
        update(Card)
        .where(col(Card.id) == card.id)
        .values(
            credit_limit_cents=new_limit_cents, version=col(Card.version) + 1, updated_at=utcnow()
        ),
        execution_options={"synchronize_session": False},
    )


def change_row(
    card: Card, new_limit_cents: int, kind: LimitChangeKind, principal: Principal, **more: Any
) -> CreditLimitChange:
    return CreditLimitChange(
        card_id=card.id,
        old_limit_cents=card.credit_limit_cents,
        new_limit_cents=new_limit_cents,
        kind=kind,
        actor_kind=principal.kind.value,
        actor_id=principal.subject,
        **more,
    )


@dataclass(frozen=True)
class Decrease:
    card_id: uuid.UUID
    new_limit_cents: int
    reasons: tuple[RiskReason, ...]
    note: str | None = None


async def decrease_limit(
    *,
    session: AsyncSession,
    ring: KeyRing,
    principal: Principal,
    data: Decrease,
    audit_event: Callable[..., AuditEvent],
) -> Card:
    """A risk officer lowers a card's limit with the risk reasons (scope ``risk:write``)."""
    if not data.reasons:
        raise BadUserInput("name at least one risk reason for the decrease", field="reasons")
    note = checked_text("note", data.note, required=False)
    card, _ = await visible_card(session, principal, data.card_id)
    if data.new_limit_cents >= card.credit_limit_cents:
        raise BadUserInput(
            f"a risk decrease cannot raise or keep the limit: newLimit must be below the "
            f"current {yuan_text(card.credit_limit_cents)}",
            field="newLimit",
        )
    reasons = sorted({reason.value for reason in data.reasons})
    change = change_row(
        card, data.new_limit_cents, LimitChangeKind.RISK_DECREASE, principal, reasons=reasons
    )
    await ensure_customer_keys(session, ring, [card.customer_id])
    seal_field(ring, change, "note", note, customer_id=card.customer_id)
    await set_limit(session, card, data.new_limit_cents)
    session.add(change)
    await audit.record_and_commit(
        session,
        audit_event(
            DECREASE_ACTION,
            target_type="Card",
            target_id=str(card.id),
            fields=["creditLimit"],
            details={
                "from": yuan_text(change.old_limit_cents),
                "to": yuan_text(data.new_limit_cents),
                "reasons": reasons,
            },
        ),
    )
    fresh = await session.get(Card, card.id, populate_existing=True)
    assert fresh is not None
    return fresh


def _ended(as_of: date) -> list[ColumnElement[bool]]:
    """Approved temporary limits whose last day is before ``as_of`` and still in force."""
    return [
        col(CreditLimitRequest.status) == LimitRequestStatus.APPROVED,
        col(CreditLimitRequest.temporary_until) < as_of,
        col(CreditLimitRequest.ended_at).is_(None),
    ]


@dataclass(frozen=True)
class RevertSummary:
    as_of: date
    reverted: int  # temporary limits ended
    lowered: int  # of which the card's limit went down (the others were already lower)


async def revert_ended_limits(
    session: AsyncSession, *, as_of: date, actor_kind: str, actor_id: str
) -> RevertSummary:
    """Ends every temporary limit whose last day is before ``as_of``, in one transaction:
    one UPDATE of the cards, one of the requests and one multi-row INSERT of their history
    rows, whatever their number. The caller audits and commits."""
    ended = _ended(as_of)
    rows = (
        await session.execute(
            select(  # type: ignore[call-overload]
                col(CreditLimitRequest.id),
                col(CreditLimitRequest.card_id),
                col(CreditLimitRequest.revert_to_cents),
                col(CreditLimitRequest.temporary_until),
                col(Card.credit_limit_cents),
            )
            .join(Card, col(Card.id) == col(CreditLimitRequest.card_id))
            .where(*ended)
            .with_for_update()
        )
    ).all()
    if not rows:
        return RevertSummary(as_of, 0, 0)
    now = utcnow()
    revert_to = (
        select(CreditLimitRequest.revert_to_cents)
        .where(col(CreditLimitRequest.card_id) == col(Card.id), *ended)
        .scalar_subquery()
    )
    ending = select(CreditLimitRequest.card_id).where(*ended)
    await session.execute(
        update(Card)
        .where(col(Card.id).in_(ending))
        .values(
            credit_limit_cents=case(
                (revert_to < col(Card.credit_limit_cents), revert_to),
                else_=col(Card.credit_limit_cents),
            ),
            version=col(Card.version) + 1,
            updated_at=now,
        ),
        execution_options={"synchronize_session": False},
    )
    await session.execute(
        update(CreditLimitRequest)
        .where(and_(*ended))
        .values(ended_at=now, version=col(CreditLimitRequest.version) + 1, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    history = [
        {
            "id": new_id(),
            "card_id": card_id,
            "old_limit_cents": current,
            "new_limit_cents": min(current, target if target is not None else current),
            "kind": LimitChangeKind.TEMPORARY_ENDED.value,
            "temporary_until": until,
            "request_id": request_id,
            "reasons": [],
            "actor_kind": actor_kind,
            "actor_id": actor_id,
            "created_at": now,
        }
        for request_id, card_id, target, until, current in rows
    ]
    await session.execute(insert(CreditLimitChange), history)
    lowered = sum(1 for row in history if row["new_limit_cents"] < row["old_limit_cents"])
    return RevertSummary(as_of, len(rows), lowered)


async def active_temporary(session: AsyncSession, card_id: uuid.UUID) -> CreditLimitRequest | None:
    """The approved temporary limit in force on a card, if any (at most one)."""
    return await session.scalar(
        select(CreditLimitRequest).where(
            col(CreditLimitRequest.card_id) == card_id,
            col(CreditLimitRequest.status) == LimitRequestStatus.APPROVED,
            col(CreditLimitRequest.temporary_until).is_not(None),
            col(CreditLimitRequest.ended_at).is_(None),
        )
    )
