"""Which cards a caller reaches: a card follows its customer (``resolvers.scoping``).

A customer reaches their own cards, branch staff their branch's customers' cards, admin,
auditor and risk officer every card (reading; writing needs ``cards:write``, which risk
officers and auditors lack). Outside the scope a card is NOT_FOUND, never FORBIDDEN.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false
from sqlmodel import col, select

from core.identity import Principal, Scope
from models.cards.card import Card
from models.customers.customer import Customer
from resolvers.scoping import customer_scope

CARD_NOT_FOUND = "no card with this id is visible to you"


def card_scope(principal: Principal, scope: Scope = Scope.CARDS_READ) -> ColumnElement[bool]:
    """The cards ``principal`` reaches with ``scope`` (``cards:read`` or ``cards:write``)."""
    if not principal.has(scope):
        return false()
    if principal.customer_id is not None:
        return col(Card.customer_id) == principal.customer_id
    customers = select(col(Customer.id)).where(customer_scope(principal))
    return col(Card.customer_id).in_(customers)
