"""``node(id:)``: a global ID resolved through the same scoping as the type's own query, so
every ``Node`` a caller is shown can be refetched by that caller (Relay, Apollo caches)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, true
from sqlmodel import col, select

from core.errors import Forbidden, NotFound
from core.identity import Principal, PrincipalKind, Scope
from core.request_database import RequestDatabase
from models.audit.audit import AuditEntry
from models.cards.card import Card
from models.columns import utcnow
from models.customers.customer import Customer
from models.growth.offer import Offer
from models.growth.tier import Tier
from models.loyalty.reward import Reward
from models.organisation.organisation import Branch, StaffUser
from models.outreach.campaign import Campaign
from models.service_desk.interaction import Interaction
from resolvers.customers.records import get_customer
from resolvers.growth.assignments import get_assignment
from resolvers.growth.offers import get_offer
from resolvers.loyalty.rewards import redeemable_now
from resolvers.merchants.scope import calling_merchant, own_offer
from resolvers.organisation.staff import visible_staff
from resolvers.scoping import customer_scope
from resolvers.service_desk.complaint_queries import get_complaint
from resolvers.transactions.reading import transaction_in_scope

NOT_FOUND_MESSAGE = "no object with this id is visible to you"
# StaffMember IDs; "StaffUser" is what they said before they named their type.
STAFF_TYPES = frozenset({"StaffMember", "StaffUser"})


async def card_in_scope(db: RequestDatabase, principal: Principal, card_id: uuid.UUID) -> Card:
    """A card is visible exactly when its customer is."""
    rows = await db.scalars(
        select(Card)
        .join(Customer, Customer.id == Card.customer_id)  # type: ignore[arg-type]
        .where(Card.id == card_id, customer_scope(principal))
    )
    if not rows:
        raise NotFound("no card with this id is visible to you")
    card: Card = rows[0]
    return card


async def load_node(
    db: RequestDatabase, principal: Principal, type_name: str, raw_id: str
) -> object:
    """The record a global ID names, if the caller may read it where it is listed."""
    if type_name == "AuditEntry":
        return await _audit_entry(db, principal, raw_id)
    key = _uuid(raw_id)
    if type_name == "Customer":
        return await get_customer(db=db, principal=principal, customer_id=key)
    if type_name == "Card":
        return await card_in_scope(db, principal, key)
    if type_name == "Complaint":
        return await get_complaint(db=db, principal=principal, complaint_id=key)
    if type_name == "Interaction" and principal.has(Scope.INTERACTIONS_READ):
        visible = col(Interaction.customer_id).in_(
            select(Customer.id).where(customer_scope(principal))
        )
        return await _one(db, select(Interaction).where(col(Interaction.id) == key, visible))
    if type_name == "Transaction":
        return await transaction_in_scope(db=db, principal=principal, transaction_id=key)
    if type_name == "Offer" and principal.is_staff and principal.has(Scope.OFFERS_READ):
        return await get_offer(db=db, offer_id=key)
    if type_name == "MerchantOffer" and principal.kind is PrincipalKind.MERCHANT:
        if not principal.has(Scope.OFFERS_READ):  # as `merchantOffers` declares it
            raise Forbidden("this operation needs the `offers:read` scope, which the token lacks")
        return MerchantOfferRow(await own_offer(db, calling_merchant(principal), key, field="id"))
    if type_name == "Campaign" and principal.is_staff and principal.has(Scope.CAMPAIGNS_READ):
        return await _one(db, select(Campaign).where(col(Campaign.id) == key))
    if type_name == "OfferAssignment":
        return await get_assignment(db=db, principal=principal, assignment_id=key)
    if type_name == "Reward" and principal.has(Scope.POINTS_READ):
        # As `rewards` lists them: staff every reward, customers what they may redeem now.
        seen = [] if principal.is_staff else redeemable_now(utcnow())
        return await _one(db, select(Reward).where(col(Reward.id) == key, *seen))
    if type_name == "Tier" and principal.has(Scope.CUSTOMERS_READ):
        return await _one(db, select(Tier).where(col(Tier.id) == key))
    if type_name == "Branch":
        return await _one(db, select(Branch).where(col(Branch.id) == key, _branches(principal)))
    if type_name in STAFF_TYPES:
        staff = select(StaffUser).where(col(StaffUser.id) == key, visible_staff(principal))
        return await _one(db, staff)
    raise NotFound(NOT_FOUND_MESSAGE)


@dataclass(frozen=True)
class MerchantOfferRow:
    """An offer as its own merchant refetches it (``MerchantOffer``, not the staff ``Offer``)."""

    offer: Offer


def _uuid(raw_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw_id)
    except ValueError as exc:
        raise NotFound(NOT_FOUND_MESSAGE) from exc


def _branches(principal: Principal) -> ColumnElement[bool]:
    """Staff see every branch; a customer their own (``me { branch }``)."""
    if principal.is_staff:
        return true()
    if principal.customer_id is not None and principal.has(Scope.CUSTOMERS_READ):
        own = select(Customer.branch_id).where(col(Customer.id) == principal.customer_id)
        return col(Branch.id).in_(own)
    return false()


async def _audit_entry(db: RequestDatabase, principal: Principal, raw_id: str) -> object:
    """Audit entries are numbered (``seq``), not UUIDs; readable with ``audit:read``."""
    if not principal.has(Scope.AUDIT_READ) or not raw_id.isdecimal():
        raise NotFound(NOT_FOUND_MESSAGE)
    return await _one(db, select(AuditEntry).where(col(AuditEntry.seq) == int(raw_id)))


async def _one(db: RequestDatabase, query: Any) -> object:
    rows = await db.scalars(query)
    if not rows:
        raise NotFound(NOT_FOUND_MESSAGE)
    return rows[0]
