"""Each customer's own data key: created with the customer, destroyed by erasure.

(The sealing itself is in ``core.encryption`` and ``models.sealing``; this module is the
table's life cycle.)
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.encryption import KeyRing
from models.keys import CustomerKey


async def destroy_customer_key(
    session: AsyncSession, ring: KeyRing, customer_id: uuid.UUID
) -> bool:
    """Deletes the customer's key in the session's transaction (crypto-shredding: every
    value sealed under it becomes unreadable once this commits), and forgets this process's
    opened copy. True when there was a key to destroy."""
    result = await session.execute(
        delete(CustomerKey).where(col(CustomerKey.customer_id) == customer_id)
    )
    ring.forget_customer(customer_id)
    return bool(result.rowcount)  # type: ignore[attr-defined]
