"""What transactions add to the Customer type: the customer's transactions on all their cards.

``schema.graph`` assembles Customer from these parts and the customers' own; a field here gets
the customer's own part as ``self`` and reads only its ``_row``. The customer reads their own
in the app through ``me { transactions }``.
"""

from __future__ import annotations

import strawberry

from core.context import Info
from core.identity import Scope
from models.customers.customer import Customer as CustomerRow
from resolvers.transactions.loaders import (
    TransactionCountByCustomerLoader,
    TransactionPagesByCustomerLoader,
)
from resolvers.transactions.reading import TransactionView
from schema.cards.card import Card
from schema.relay import After, Connection, First
from schema.scope_field import scoped_field
from schema.transactions.card_fields import FilterArgument, transaction_connection
from schema.transactions.types import Transaction


def transaction_node(view: TransactionView) -> Transaction:
    """A transaction with its card as the Card type (``node(id:)`` builds them so too)."""
    return Transaction.of(view.transaction, Card.from_row(view.card))


@strawberry.type
class CustomerTransactionFields:
    """Customer's transactions, between ``cards`` and ``interactions``."""

    _row: strawberry.Private[CustomerRow]

    @scoped_field(
        Scope.CARDS_READ, "This customer's transactions on all their cards, newest first."
    )
    async def transactions(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: FilterArgument = None,
    ) -> Connection[Transaction] | None:
        return await transaction_connection(
            info,
            self._row.id,
            first,
            after,
            filter,
            (TransactionPagesByCustomerLoader, TransactionCountByCustomerLoader),
            transaction_node,
        )
