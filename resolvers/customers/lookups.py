"""``customerByPhone``, ``customerByIdNumber`` and ``customersByName``: blind-index lookups,
each one a disclosure that ``resolvers.customers.disclosure`` audits and counts against the caller's
budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth.audit import AuditEvent
from auth.lookups import LookupRule
from auth.masking import mask_id_number, mask_name, mask_phone
from core.encryption import KeyRing
from core.errors import BadUserInput
from core.identity import Principal
from core.settings import Settings
from models.cards.card import Card
from models.customer_keys import load_customer_keys
from models.customers.customer import Customer
from models.customers.identifiers import (
    BIRTHDAY_INDEX,
    birthday_key,
    normalize_mobile,
    normalize_name,
    normalize_national_id,
)
from models.sealing import open_field
from resolvers.customers.disclosure import Guess, LookupReason, look_up_customer, look_up_customers
from resolvers.customers.input import checked
from resolvers.customers.records import ID_NUMBER_INDEX, NAME_INDEX, PHONE_INDEX
from resolvers.scoping import customer_scope


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
    """``customerByPhone`` / ``customerByIdNumber``: audited and budgeted
    (resolvers.customers.disclosure)."""
    condition, masked = _lookup_condition(ring, lookup.rule, lookup.value)
    return await look_up_customer(
        session=session,
        settings=settings,
        principal=principal,
        guess=Guess(lookup.rule, masked, lookup.reason),
        condition=condition,
        audit_event=audit_event,
    )


@dataclass(frozen=True)
class NameLookup:
    """``customersByName``: the full name, narrowed by the last 4 digits the caller reads
    out, of the phone or of a card (exactly one)."""

    rule: LookupRule
    name: str
    reason: LookupReason
    phone_last4: str | None = None
    card_last4: str | None = None
    first: int = 5  # namesakes with the same last 4 are rare: a few at most

    def checked(self) -> tuple[str, str, str]:
        """The normalised name, which last 4 (``phone`` or ``card``) and its digits."""
        if not 1 <= self.first <= NAME_MATCHES:
            raise BadUserInput(f"first must be between 1 and {NAME_MATCHES}", field="first")
        given = [
            (kind, digits)
            for kind, digits in (("phone", self.phone_last4), ("card", self.card_last4))
            if digits is not None
        ]
        if len(given) != 1:
            raise BadUserInput("give exactly one of phoneLast4 and cardLast4", field="phoneLast4")
        (kind, digits) = given[0]
        if len(digits) != 4 or not digits.isascii() or not digits.isdigit():
            raise BadUserInput(f"{kind}Last4 must be 4 digits", field=f"{kind}Last4")
        return checked("name", normalize_name, self.name), kind, digits


NAME_MATCHES = 20  # the most namesakes one lookup lists


async def customers_by_name(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    principal: Principal,
    lookup: NameLookup,
    audit_event: Callable[..., AuditEvent],
) -> list[Customer]:
    """The customers in the caller's scope with this exact (normalised) name and last 4.
    A card's last 4 is kept in clear and tested in SQL; a phone's is sealed, so the few
    customers of that name are opened to compare it."""
    name, kind, digits = lookup.checked()
    same_name = (
        col(Customer.name_bidx) == ring.blind_index(NAME_INDEX, name),
        customer_scope(principal),
    )

    async def find(session: AsyncSession) -> list[Customer]:
        query = select(Customer).where(*same_name)
        if kind == "card":
            holders = select(Card.customer_id).where(col(Card.last4) == digits)
            query = query.where(col(Customer.id).in_(holders))
            return list((await session.scalars(query.limit(lookup.first))).all())
        rows = (await session.scalars(query)).all()
        await load_customer_keys(session, ring, [row.id for row in rows])
        matches = [row for row in rows if (open_field(ring, row, "phone") or "")[-4:] == digits]
        return matches[: lookup.first]

    return await look_up_customers(
        session=session,
        settings=settings,
        principal=principal,
        guess=Guess(lookup.rule, f"{mask_name(name)} {kind} …{digits}", lookup.reason),
        find=find,
        audit_event=audit_event,
    )


async def index_names(session: AsyncSession, ring: KeyRing, *, batch_size: int = 500) -> int:
    """Fills the name index of customers sealed before it existed (migration 0005); each
    batch commits, so an interrupted run resumes where it stopped. Returns how many."""
    done = 0
    while True:
        rows = (
            await session.scalars(
                select(Customer).where(col(Customer.name_bidx).is_(None)).limit(batch_size)
            )
        ).all()
        await load_customer_keys(session, ring, [row.id for row in rows])
        named = [(row, open_field(ring, row, "name")) for row in rows]
        for row, name in named:
            # A customer without a name gets an index no name matches, so it is not re-read.
            value = normalize_name(name) if name and name.strip() else f"\x00{row.id}"
            row.name_bidx = ring.blind_index(NAME_INDEX, value)
        await session.commit()
        done += len(rows)
        if len(rows) < batch_size:
            return done


async def index_birthdays(session: AsyncSession, ring: KeyRing, *, batch_size: int = 500) -> int:
    """Fills the birthday index ("MM-DD", for the daily birthday care) of customers sealed
    before it existed (migration 0013); each batch commits, so an interrupted run resumes
    where it stopped. Returns how many."""
    done = 0
    while True:
        rows = (
            await session.scalars(
                select(Customer).where(col(Customer.birthday_bidx).is_(None)).limit(batch_size)
            )
        ).all()
        await load_customer_keys(session, ring, [row.id for row in rows])
        for row in rows:
            sealed = open_field(ring, row, "birth_date")
            # No (or an unreadable) birth date: an index no day matches, so it is not re-read.
            try:
                value = birthday_key(date.fromisoformat(sealed)) if sealed else f"\x00{row.id}"
            except ValueError:
                value = f"\x00{row.id}"
            row.birthday_bidx = ring.blind_index(BIRTHDAY_INDEX, value)
        await session.commit()
        done += len(rows)
        if len(rows) < batch_size:
            return done
