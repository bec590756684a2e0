"""A risk alert's decision and what it does to the card, in one transaction.

Confirmed fraud freezes the card (``resolvers.cards.fraud_freeze``), whether a risk officer
decided it (``resolveRiskAlert``) or the customer answered "it was not me"
(``confirmTransaction``). The risk domain does not import the cards domain: this module, above
both, composes them, as ``resolvers.batch_effects`` composes a batch's effects. Every decision
is audited (the card's freeze too) and commits with its entries or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from auth import audit
from auth.audit import AuditEvent
from core.encryption import KeyRing
from core.identity import Principal
from models.risk.alert import AlertStatus, RiskAlert
from resolvers.cards.fraud_freeze import freeze_for_fraud
from resolvers.risk.alerts import AlertChanged, AlertDecision, answer_alert, decide_alert

RESOLVE_ACTION = "risk_alert.resolve"
ANSWER_ACTION = "risk_alert.answer"
FREEZE_ACTION = "card.freeze"
AuditEventFactory = Callable[..., AuditEvent]


async def _finish(
    session: AsyncSession,
    ring: KeyRing,
    principal: Principal,
    changed: AlertChanged,
    action: str,
    audit_event: AuditEventFactory,
) -> RiskAlert:
    alert = changed.alert
    events = [
        audit_event(
            action,
            target_type="RiskAlert",
            target_id=str(alert.id),
            details={
                "rule": alert.rule,
                "from": changed.from_status,
                "to": alert.status,
                "answer": alert.customer_answer,
                "version": alert.version,
            },
        )
    ]
    if alert.status == AlertStatus.CONFIRMED_FRAUD and alert.card_id is not None:
        freeze = await freeze_for_fraud(session, ring, principal, alert.card_id)
        if freeze.frozen:
            events.append(
                audit_event(
                    FREEZE_ACTION,
                    target_type="Card",
                    target_id=str(freeze.card_id),
                    details={
                        "from": freeze.from_status,
                        "to": freeze.to_status,
                        "reason": "confirmed fraud",
                        "alert": str(alert.id),
                    },
                )
            )
    await audit.record_and_commit(session, *events)
    fresh = await session.get(RiskAlert, alert.id, populate_existing=True)
    assert fresh is not None
    return fresh


async def resolve_alert(
    *,
    session: AsyncSession,
    ring: KeyRing,
    principal: Principal,
    decision: AlertDecision,
    audit_event: AuditEventFactory,
) -> RiskAlert:
    changed = await decide_alert(session=session, ring=ring, principal=principal, decision=decision)
    return await _finish(session, ring, principal, changed, RESOLVE_ACTION, audit_event)


async def confirm_transaction(
    *,
    session: AsyncSession,
    ring: KeyRing,
    principal: Principal,
    alert_id: uuid.UUID,
    it_was_me: bool,
    audit_event: AuditEventFactory,
) -> RiskAlert:
    changed = await answer_alert(
        session=session, principal=principal, alert_id=alert_id, it_was_me=it_was_me
    )
    return await _finish(session, ring, principal, changed, ANSWER_ACTION, audit_event)
