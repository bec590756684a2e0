"""``createCustomer``'s "already exists": a national ID or card number that is registered
already. Telling the caller so discloses it, so it is a lookup (``resolvers.customers.disclosure``):
counted against the caller's budget and audited, and the answer is the same wherever the existing
record is (it never says whether it is in another branch)."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from core.errors import Conflict
from models.cards.card import Card
from models.customers.customer import Customer

_CONFLICTS = {  # the lookup field: the message and the input field it names
    "idNumber": ("a customer with this national ID already exists", "idNumber"),
    "pan": ("a card with this number is already registered", "cards"),
    "customerNumber": ("a customer with this customer number already exists", "customerNumber"),
}


def conflict_for(field: str | None) -> Conflict:
    """The conflict to report for a duplicate of ``field`` (None: an unknown constraint)."""
    if field is None:
        return Conflict("this record conflicts with an existing one")
    message, input_field = _CONFLICTS[field]
    return Conflict(message, field=input_field)


def duplicated_field(exc: IntegrityError) -> str | None:
    """The lookup field a unique-constraint failure discloses, if it is one of them."""
    text = str(exc.orig).lower()
    if "customer_number" in text:
        return "customerNumber"
    if "pan" in text:
        return "pan"
    if "id_number" in text:
        return "idNumber"
    return None


async def holder_of(
    session: AsyncSession, row: Customer, cards: list[Card], field: str
) -> uuid.UUID | None:
    """The existing customer a duplicate belongs to, for the audit entry (not the caller)."""
    if field == "idNumber":
        found = await session.scalar(
            select(Customer.id).where(col(Customer.id_number_bidx) == row.id_number_bidx)
        )
    elif field == "customerNumber":
        found = (
            None
            if row.customer_number_bidx is None
            else await session.scalar(
                select(Customer.id).where(
                    col(Customer.customer_number_bidx) == row.customer_number_bidx
                )
            )
        )
    elif cards:
        found = await session.scalar(
            select(Card.customer_id)
            .where(col(Card.pan_bidx).in_([card.pan_bidx for card in cards]))
            .limit(1)
        )
    else:
        found = None
    return uuid.UUID(str(found)) if found is not None else None


async def registered(
    session: AsyncSession, row: Customer, cards: list[Card]
) -> tuple[str, uuid.UUID] | None:
    """The first of the new customer's national ID and card numbers that is registered
    already, with its holder; tested before the insert, inside the caller's budget lock."""
    for field in ("idNumber", "customerNumber", "pan"):
        holder = await holder_of(session, row, cards, field)
        if holder is not None:
            return field, holder
    return None
