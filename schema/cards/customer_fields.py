"""What cards add to the Customer type: the customer's cards.

``schema.graph`` assembles Customer from these parts and the customers' own; a field here gets
the customer's own part as ``self`` and reads only its ``_row``.
"""

from __future__ import annotations

import strawberry

from core.context import Info
from models.customers.customer import Customer as CustomerRow
from resolvers.cards.loaders import CardsByCustomerIdLoader
from schema.cards.card import Card


@strawberry.type
class CustomerCardFields:
    """Customer's cards, between ``lifecycleHistory`` and ``interactions``."""

    _row: strawberry.Private[CustomerRow]

    @strawberry.field(description="The customer's cards, oldest first.")
    async def cards(self, info: Info) -> list[Card]:
        rows = await info.context.loader(CardsByCustomerIdLoader).load(self._row.id)
        return [Card.from_row(row) for row in rows]
