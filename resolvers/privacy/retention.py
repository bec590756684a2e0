"""The retention job (``cardcrm retention run``, issue 16): erases every customer whose
relationship ended more than ``privacy_retention_years`` years ago and on whom no other
legal hold lies (nothing owed, nothing disputed), as an approved erasure would.

The customers are selected in one statement (``legal_holds.erasable``) and erased in
chunks, each its own transaction, each customer audited with the system as the actor. A
customer already erased is never selected again, so a second run erases nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.encryption import KeyRing
from models.customers.customer import Customer
from resolvers.privacy.erasure import erase_customers
from resolvers.privacy.legal_holds import erasable, retention_cutoff

CHUNK = 500


async def run_retention(
    session: AsyncSession,
    ring: KeyRing,
    *,
    retention_years: int,
    as_of: datetime,
    audit_event: Callable[..., AuditEvent],
) -> int:
    """Erases every customer the retention period releases as of ``as_of``; how many."""
    cutoff = retention_cutoff(retention_years, as_of)
    due = list(
        await session.scalars(
            select(col(Customer.id)).where(erasable(cutoff)).order_by(col(Customer.id))
        )
    )
    await session.commit()
    erased = 0
    for start in range(0, len(due), CHUNK):
        async with audit.chain_lock(session):
            # Checked again in the chunk's transaction: a card issued meanwhile holds it.
            still = await session.scalars(
                select(col(Customer.id)).where(
                    col(Customer.id).in_(due[start : start + CHUNK]), erasable(cutoff)
                )
            )
            erased += await erase_customers(
                session, ring, list(still), audit_event, reason="retention", asOf=as_of.isoformat()
            )
            await session.commit()
    return erased
