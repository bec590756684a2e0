"""``customerByPhone`` / ``customerByIdNumber``: blind-index lookups, each one a disclosure
that ``resolvers.lookup`` audits and counts against the caller's budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.settings import Settings
from auth.audit import AuditEvent
from auth.masking import mask_id_number, mask_phone
from auth.policy import LookupRule
from auth.principal import Principal
from models.customer import Customer
from models.encryption import KeyRing
from models.identifiers import normalize_mobile, normalize_national_id
from resolvers.customer import ID_NUMBER_INDEX, PHONE_INDEX
from resolvers.customer_input import checked
from resolvers.lookup import Guess, LookupReason, look_up_customer


@dataclass(frozen=True)
class Lookup:
    """One exact-match lookup as the caller asked for it."""

    rule: LookupRule
    value: str
    reason: LookupReason


def _lookup_condition(
    ring: KeyRing, rule: LookupRule, value: str
) -> tuple[ColumnElement[bool], str]:
    """The blind-index test for ``value`` and the value's masked form (what the caller's role
    is shown; guesses at one masked value are capped). A malformed value is BAD_USER_INPUT,
    and no lookup: it cannot match anything, so it discloses nothing and is not counted."""
    if rule.field == "phone":
        phone = checked("phone", normalize_mobile, value)
        return col(Customer.phone_bidx) == ring.blind_index(PHONE_INDEX, phone), mask_phone(phone)
    if rule.field == "idNumber":
        id_number = checked("idNumber", normalize_national_id, value)
        digest = ring.blind_index(ID_NUMBER_INDEX, id_number)
        return col(Customer.id_number_bidx) == digest, mask_id_number(id_number)
    raise ValueError(f"no lookup by {rule.field}")


async def customer_by_lookup(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    principal: Principal,
    lookup: Lookup,
    audit_event: Callable[..., AuditEvent],
) -> Customer:
    """``customerByPhone`` / ``customerByIdNumber``: audited and budgeted (resolvers.lookup)."""
    condition, masked = _lookup_condition(ring, lookup.rule, lookup.value)
    return await look_up_customer(
        session=session,
        settings=settings,
        principal=principal,
        guess=Guess(lookup.rule, masked, lookup.reason),
        condition=condition,
        audit_event=audit_event,
    )
