"""The audited reveal of a customer's clear PII (SPEC §2).

A reveal needs the ``pii:reveal`` scope, a role the policy table lets reveal every asked
field, a customer in the caller's scope, and a written purpose that says something and holds
no personal data (``resolvers.purpose``). It is
rate-limited per actor by counting the actor's reveals in the audit log itself (so the limit
holds across instances, with no second store), and each reveal writes one audit entry naming
the fields and the purpose, never the values.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from auth.policy import REVEAL_RULES, PiiField
from core.encryption import KeyRing
from core.errors import BadUserInput, Forbidden, NotFound, RateLimited
from core.identity import Principal
from core.settings import Settings
from models.audit.audit import AuditEntry
from models.cards.card import Card
from models.columns import utcnow
from models.customers.customer import Customer
from models.sealing import open_field_or_reload
from resolvers.purpose import check_purpose
from resolvers.scoping import CUSTOMER_NOT_FOUND, customer_scope

REVEAL_ACTION = "pii.reveal"
_CUSTOMER_COLUMNS = {
    PiiField.NAME: "name",
    PiiField.PHONE: "phone",
    PiiField.EMAIL: "email",
    PiiField.ID_NUMBER: "id_number",
    PiiField.ADDRESS: "address",
    PiiField.BIRTH_DATE: "birth_date",
    PiiField.CUSTOMER_NUMBER: "customer_number",
}


@dataclass(frozen=True)
class RevealedValue:
    field: PiiField
    value: str | None
    card_id: uuid.UUID | None = None


async def _reveals_in_last_hour(session: AsyncSession, principal: Principal) -> int:
    since = utcnow() - timedelta(hours=1)
    count = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.actor_id == principal.subject,
            AuditEntry.action == REVEAL_ACTION,
            AuditEntry.created_at >= since,
        )
    )
    return int(count or 0)


async def _values(
    session: AsyncSession, ring: KeyRing, customer: Customer, fields: list[PiiField]
) -> list[RevealedValue]:
    values = [
        RevealedValue(field, await open_field_or_reload(ring, customer, _CUSTOMER_COLUMNS[field]))
        for field in fields
        if field is not PiiField.PAN
    ]
    if PiiField.PAN in fields:
        cards = await session.scalars(
            select(Card).where(Card.customer_id == customer.id).order_by(col(Card.created_at))
        )
        values += [
            RevealedValue(PiiField.PAN, await open_field_or_reload(ring, card, "pan"), card.id)
            for card in cards
        ]
    return values


async def reveal_customer_pii(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    principal: Principal,
    customer_id: uuid.UUID,
    fields: list[PiiField],
    purpose: str,
    audit_event: Callable[..., AuditEvent],
) -> list[RevealedValue]:
    if not fields:
        raise BadUserInput("name at least one field to reveal", field="fields")
    fields = list(dict.fromkeys(fields))
    refused = [f.value for f in fields if not REVEAL_RULES[f].may_reveal(principal)]
    if refused:
        raise Forbidden(f"your role may not reveal: {', '.join(refused)}", field="fields")
    purpose = check_purpose(purpose, settings.reveal_min_purpose_length)
    customer = await session.scalar(
        select(Customer).where(Customer.id == customer_id, customer_scope(principal))
    )
    if customer is None:
        raise NotFound(CUSTOMER_NOT_FOUND, field="customerId")
    async with audit.chain_lock(session):
        if await _reveals_in_last_hour(session, principal) >= settings.reveal_limit_per_hour:
            raise RateLimited(
                f"you may reveal at most {settings.reveal_limit_per_hour} times an hour",
                retry_after_seconds=3600,
            )
        values = await _values(session, ring, customer, fields)
        await audit.append(
            session,
            audit_event(
                REVEAL_ACTION,
                target_type="Customer",
                target_id=str(customer.id),
                fields=[f.value for f in fields],
                purpose=purpose,
            ),
        )
        await session.commit()
    return values
