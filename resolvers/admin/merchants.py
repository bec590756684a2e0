"""Partner merchants as an administrator keeps them: created, disabled and enabled again.

Disabling a merchant revokes every OAuth client it has (their tokens stop at their next
request, ``auth.revocation``), and ``cardcrm clients create`` refuses it new ones; enabling
it again restores no client: the operator issues new credentials.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from models.columns import utcnow
from models.merchants.merchant import Merchant, OAuthClient
from models.transactions.transaction import MerchantCategory
from resolvers.admin.branches import checked_name
from resolvers.admin.common import Events, Reader, check_version, locked


def _event(events: Events, action: str, merchant: Merchant) -> audit.AuditEvent:
    return events(
        action,
        target_type="Merchant",
        target_id=str(merchant.id),
        details={"category": merchant.category},
    )


async def create_merchant(
    session: AsyncSession, *, events: Events, name: str, category: MerchantCategory
) -> Merchant:
    merchant = Merchant(name=checked_name(name, limit=200), category=category.value)
    session.add(merchant)
    await session.flush()
    await audit.record_and_commit(session, _event(events, "merchant.create", merchant))
    return merchant


async def set_active(
    session: AsyncSession,
    *,
    events: Events,
    merchant_id: uuid.UUID,
    version: int | None,
    active: bool,
) -> Merchant:
    merchant = await locked(session, Merchant, merchant_id, "merchant", "merchantId")
    check_version(merchant, version, "merchant")
    merchant.is_active = active
    if not active:
        await session.execute(
            update(OAuthClient)
            .where(
                col(OAuthClient.merchant_id) == merchant.id, col(OAuthClient.revoked_at).is_(None)
            )
            .values(revoked_at=utcnow())
        )
    action = "merchant.enable" if active else "merchant.disable"
    await audit.record_and_commit(session, _event(events, action, merchant))
    return merchant


async def list_merchants(session: Reader) -> list[Merchant]:
    return list(await session.scalars(select(Merchant).order_by(col(Merchant.name))))
