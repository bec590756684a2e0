"""A supervisor's override of a customer's tier, with a written reason (audited).

Supervisors (their branch's customers) and admins may set any tier; the customer must be in
the caller's scope (else NOT_FOUND) and at the version the caller saw (else CONFLICT). The
reason must say something, checked like a reveal's purpose (``purpose.check_purpose``): the
same rules keep placeholders and personal data out of the history and the audit log. The
override holds for ``tier_override_days``: evaluation leaves the tier alone until then.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from auth import audit
from auth.audit import AuditEvent
from core import text_limits
from core.errors import BadUserInput, Conflict, Forbidden, NotFound
from core.identity import Principal, Role
from core.settings import Settings
from models.columns import utcnow
from models.customers.customer import Customer
from models.growth.tier import Tier, TierChange, TierHistory
from resolvers.purpose import check_purpose
from resolvers.scoping import CUSTOMER_NOT_FOUND, customer_scope

OVERRIDE_ACTION = "customer.tier_override"
OVERRIDE_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})


def checked_reason(reason: str, min_length: int) -> str:
    try:
        return check_purpose(reason, min_length)
    except BadUserInput as error:
        raise BadUserInput(
            f"reason must say why the tier is overridden, in {min_length} to {text_limits.PURPOSE}"
            " characters and without personal data (e.g. the ticket and the decision)",
            field="reason",
        ) from error


async def override_tier(
    *,
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    customer_id: uuid.UUID,
    tier_code: str,
    reason: str,
    version: int,
    audit_event: Callable[..., AuditEvent],
) -> Customer:
    if principal.role not in OVERRIDE_ROLES or principal.staff_id is None:
        raise Forbidden("only supervisors and admins may override a tier")
    reason = checked_reason(reason, settings.reveal_min_purpose_length)
    tier = await session.scalar(select(Tier).where(Tier.code == tier_code))
    if tier is None:
        raise BadUserInput(f"no tier with code {tier_code}", field="tier")
    row = await session.scalar(
        select(Customer).where(Customer.id == customer_id, customer_scope(principal))
    )
    if row is None:
        raise NotFound(CUSTOMER_NOT_FOUND, field="customerId")
    if row.version != version:
        raise Conflict(
            f"the customer is at version {row.version}, not {version}; reload it and retry",
            field="version",
        )
    now = utcnow()
    until = now + timedelta(days=settings.tier_override_days)
    from_tier_id = row.tier_id
    previous = await session.get(Tier, from_tier_id)
    session.expunge(row)
    result = await session.execute(
        update(Customer)
        .where(Customer.id == customer_id, Customer.version == version)  # type: ignore[arg-type]
        .values(tier_id=tier.id, tier_override_until=until, version=version + 1, updated_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict("the customer changed meanwhile; reload it and retry", field="version")
    session.add(
        TierHistory(
            customer_id=customer_id,
            from_tier_id=from_tier_id,
            to_tier_id=tier.id,
            change=TierChange.OVERRIDE,
            reason=reason[:500],
            actor_id=principal.staff_id,
            created_at=now,
        )
    )
    await audit.record_and_commit(
        session,
        audit_event(
            OVERRIDE_ACTION,
            target_type="Customer",
            target_id=str(customer_id),
            fields=["tier"],
            purpose=reason,
            details={
                "from": previous.code if previous else None,
                "to": tier.code,
                "until": until.isoformat(),
            },
        ),
    )
    fresh = await session.get(Customer, customer_id, populate_existing=True)
    assert fresh is not None
    return fresh
