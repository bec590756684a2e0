"""A risk officer's override of a customer's risk grade, and its lifting (audited).

The field declares scope ``risk:write`` (risk officers; admins hold every scope). The
customer must be in the caller's scope (else NOT_FOUND) and at the version the caller saw
(else CONFLICT). The reason is required free text (at most ``text_limits.NOTES``
characters), sealed into the history row's ``note_enc`` (C2) and never written to the audit
log in clear.

An override sets the grade and ``risk_grade_overridden``: evaluation keeps computing the
grade into ``customer_metrics`` but leaves the customer's alone. Lifting clears the flag and
returns the customer to the computed grade (``customer_metrics.risk_grade``; the grade they
have when never evaluated); a return to a computed D or E that is worse than the override
raises a GRADE_WORSENED alert, as evaluation would have. Each writes one
``risk_grade_history`` row in the same transaction as the customer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.encryption import KeyRing
from core.errors import Conflict, NotFound
from core.identity import Principal
from core.text_limits import checked_text
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys
from models.customers.customer import Customer, RiskGrade
from models.growth.customer_metrics import CustomerMetrics
from models.risk.grade import RiskGradeChange, RiskGradeSource
from models.sealing import seal_field
from resolvers.risk.grade_evaluation import alert_row, raise_alerts
from resolvers.risk.grade_rules import raises_alert
from resolvers.scoping import CUSTOMER_NOT_FOUND, customer_scope

OVERRIDE_ACTION = "customer.risk_grade_override"
LIFT_ACTION = "customer.risk_grade_override_lift"


@dataclass(frozen=True)
class GradeOverride:
    customer_id: uuid.UUID
    version: int
    reason: str
    # None: lift the override.
    grade: RiskGrade | None = None


async def _customer(session: AsyncSession, principal: Principal, data: GradeOverride) -> Customer:
    row = await session.scalar(
        select(Customer).where(col(Customer.id) == data.customer_id, customer_scope(principal))
    )
    if row is None:
        raise NotFound(CUSTOMER_NOT_FOUND, field="customerId")
    if row.version != data.version:
        raise Conflict(
            f"the customer is at version {row.version}, not {data.version}; reload it and retry",
            field="version",
        )
    return row


async def _computed(session: AsyncSession, customer: Customer) -> tuple[str, list[str]]:
    """The grade evaluation last computed and why; the customer's own without one."""
    metrics = await session.get(CustomerMetrics, customer.id)
    if metrics is None or metrics.risk_grade is None:
        return customer.risk_grade, []
    return metrics.risk_grade, list(metrics.risk_reasons)


async def change_grade(
    *,
    session: AsyncSession,
    ring: KeyRing,
    principal: Principal,
    data: GradeOverride,
    audit_event: Callable[..., AuditEvent],
) -> Customer:
    """Overrides (``data.grade``) or lifts (``data.grade`` None) the customer's risk grade."""
    reason = checked_text("reason", data.reason, required=True)
    customer = await _customer(session, principal, data)
    lifting = data.grade is None
    if lifting and not customer.risk_grade_overridden:
        raise Conflict("the customer's risk grade is not overridden", field="customerId")
    reasons: list[str] = []
    if data.grade is not None:
        to_grade = data.grade.value
    else:
        to_grade, reasons = await _computed(session, customer)
    from_grade, now = customer.risk_grade, utcnow()
    session.expunge(customer)
    result = await session.execute(
        update(Customer)
        .where(col(Customer.id) == data.customer_id, col(Customer.version) == data.version)
        .values(
            risk_grade=to_grade,
            risk_grade_overridden=not lifting,
            version=data.version + 1,
            updated_at=now,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict("the customer changed meanwhile; reload it and retry", field="version")
    change = RiskGradeChange(
        customer_id=data.customer_id,
        from_grade=from_grade,
        to_grade=to_grade,
        source=RiskGradeSource.OVERRIDE_LIFTED if lifting else RiskGradeSource.OVERRIDE,
        reasons=reasons,
        actor_kind=principal.kind.value,
        actor_id=principal.subject,
        created_at=now,
    )
    await ensure_customer_keys(session, ring, [change.customer_id])
    seal_field(ring, change, "note", reason)
    session.add(change)
    if lifting and raises_alert(to_grade, from_grade):  # back to a computed D or E
        alert = alert_row(
            customer_id=customer.id,
            branch_id=customer.branch_id,
            from_grade=from_grade,
            to_grade=to_grade,
            reasons=reasons,
            as_of=now,
            stamp=now,
        )
        await raise_alerts(session, [alert])
    await audit.record_and_commit(
        session,
        audit_event(
            LIFT_ACTION if lifting else OVERRIDE_ACTION,
            target_type="Customer",
            target_id=str(data.customer_id),
            fields=["riskGrade", "riskGradeOverridden"],
            details={"from": from_grade, "to": to_grade, "history": str(change.id)},
        ),
    )
    fresh = await session.get(Customer, data.customer_id, populate_existing=True)
    assert fresh is not None
    return fresh
