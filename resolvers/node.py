"""``node(id:)``: a global ID resolved through the same scoping as the type's own query."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import col, select

from api.context import RequestDatabase
from api.errors import NotFound
from auth.principal import Principal
from auth.scopes import Scope
from models.card import Card
from models.customer import Customer
from models.interaction import Interaction
from models.organisation import Branch
from models.tier import Tier
from resolvers.complaint import get_complaint
from resolvers.customer import get_customer
from resolvers.offer import get_offer
from resolvers.offer_assignment import get_assignment
from resolvers.scoping import customer_scope


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
    db: RequestDatabase, principal: Principal, type_name: str, raw_id: uuid.UUID
) -> object:
    if type_name == "Customer":
        return await get_customer(db=db, principal=principal, customer_id=raw_id)
    if type_name == "Card":
        return await card_in_scope(db, principal, raw_id)
    if type_name == "Complaint":
        return await get_complaint(db=db, principal=principal, complaint_id=raw_id)
    if type_name == "Interaction" and principal.has(Scope.INTERACTIONS_READ):
        visible = col(Interaction.customer_id).in_(
            select(Customer.id).where(customer_scope(principal))
        )
        return await _one(db, select(Interaction).where(col(Interaction.id) == raw_id, visible))
    if type_name == "Offer" and principal.is_staff and principal.has(Scope.OFFERS_READ):
        return await get_offer(db=db, principal=principal, offer_id=raw_id)
    if type_name == "OfferAssignment":
        return await get_assignment(db=db, principal=principal, assignment_id=raw_id)
    if type_name == "Tier" and principal.has(Scope.CUSTOMERS_READ):
        return await _one(db, select(Tier).where(col(Tier.id) == raw_id))
    if type_name == "Branch" and principal.is_staff:
        return await _one(db, select(Branch).where(col(Branch.id) == raw_id))
    raise NotFound("no object with this id is visible to you")


async def _one(db: RequestDatabase, query: Any) -> object:
    rows = await db.scalars(query)
    if not rows:
        raise NotFound("no object with this id is visible to you")
    return rows[0]
