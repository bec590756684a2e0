"""Deciding a risk alert: a risk officer's resolution, or the customer's answer in the app.

Both load the alert in the caller's scope (NOT_FOUND outside it), check the ``version`` the
caller holds (CONFLICT if stale), ask the workflow table for the move, and write the change
with ``WHERE version = …``; neither commits: ``resolvers.alert_decisions`` adds the card
freeze a fraud verdict brings and the audit entries, and commits them together.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.encryption import KeyRing
from core.errors import Conflict, Forbidden
from core.identity import Principal, Scope
from core.text_limits import checked_text
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys
from models.risk.alert import AlertStatus, CustomerAnswer, RiskAlert
from models.sealing import seal_field
from resolvers.risk.alert_queries import alert_to_change
from resolvers.risk.alert_workflow import ALERT_WORKFLOW, AlertAction

CUSTOMER_RESOLVER = "customer"  # ``resolved_by`` when the customer's answer decided it


@dataclass(frozen=True)
class AlertDecision:
    alert_id: uuid.UUID
    version: int
    action: AlertAction
    note: str | None = None


@dataclass(frozen=True)
class AlertChanged:
    alert: RiskAlert
    from_status: str


async def _write(
    session: AsyncSession, alert: RiskAlert, version: int, values: dict[str, object]
) -> RiskAlert:
    alert_id = alert.id
    session.expunge(alert)
    result = await session.execute(
        update(RiskAlert)
        .where(col(RiskAlert.id) == alert_id, col(RiskAlert.version) == version)
        .values(version=version + 1, updated_at=utcnow(), **values),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the alert changed meanwhile; reload it and retry", field="version")
    fresh = await session.get(RiskAlert, alert_id, populate_existing=True)
    assert fresh is not None
    return fresh


async def decide_alert(
    *, session: AsyncSession, ring: KeyRing, principal: Principal, decision: AlertDecision
) -> AlertChanged:
    """A risk officer's (or admin's) decision, with an optional sealed note (``risk:write``)."""
    note = checked_text("note", decision.note, required=False)
    alert = await alert_to_change(session, principal, decision.alert_id, Scope.RISK_WRITE)
    if alert.version != decision.version:
        raise Conflict(
            f"the alert is at version {alert.version}, not {decision.version}; reload it",
            field="version",
        )
    from_status = alert.status
    status = ALERT_WORKFLOW.next_state(AlertStatus(from_status), decision.action)
    values: dict[str, object] = {"status": status.value}
    if decision.action is not AlertAction.ESCALATE:
        values |= {"resolved_by": principal.username or principal.subject, "resolved_at": utcnow()}
    await ensure_customer_keys(session, ring, [alert.customer_id])
    seal_field(ring, alert, "resolution_note", note)  # written below, with the version check
    values["resolution_note_enc"] = alert.resolution_note_enc
    return AlertChanged(await _write(session, alert, decision.version, values), from_status)


async def answer_alert(
    *, session: AsyncSession, principal: Principal, alert_id: uuid.UUID, it_was_me: bool
) -> AlertChanged:
    """The customer's answer to "was this you?" for their own alert, once: yes makes it
    LEGITIMATE, no CONFIRMED_FRAUD (the caller freezes the card)."""
    if principal.customer_id is None:
        raise Forbidden(
            "confirmTransaction is the customer's answer in the app; staff decide "
            "with resolveRiskAlert"
        )
    alert = await alert_to_change(session, principal, alert_id, Scope.CARDS_WRITE)
    if alert.customer_answer is not None:
        raise Conflict("you have already answered for this alert", field="alertId")
    action = AlertAction.MARK_LEGITIMATE if it_was_me else AlertAction.CONFIRM_FRAUD
    from_status = alert.status
    status = ALERT_WORKFLOW.next_state(AlertStatus(from_status), action)
    now = utcnow()
    answer = CustomerAnswer.CONFIRMED if it_was_me else CustomerAnswer.DENIED
    values: dict[str, object] = {
        "status": status.value,
        "customer_answer": answer.value,
        "answered_at": now,
        "resolved_by": CUSTOMER_RESOLVER,
        "resolved_at": now,
    }
    return AlertChanged(await _write(session, alert, alert.version, values), from_status)
