"""Reading transactions: the filter a console or the app narrows a card's or a customer's
spending with, checked where it arrives, and the rows a page shows.

Who may read is decided before anything here runs: the connection's scope (`cards:read`) on
the field, the row scope by the customer or card the field hangs on (a customer outside the
caller's scope is NOT_FOUND before their transactions are ever asked for), and the policy rows
of the amount and merchant (``auth.policy``). A transaction is always read with its card, so
the card it shows needs no query of its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from core.errors import BadUserInput, NotFound
from core.identity import Principal, Scope
from core.instants import require_offsets
from core.request_database import RequestDatabase
from models.cards.card import Card
from models.customers.customer import Customer
from models.transactions.transaction import MerchantCategory, Transaction, TransactionKind
from resolvers.scoping import customer_scope

NOT_FOUND_MESSAGE = "no transaction with this id is visible to you"


@dataclass(frozen=True)
class TransactionView:
    """A transaction and the card it was made on."""

    transaction: Transaction
    card: Card


@dataclass(frozen=True)
class TransactionFilter:
    """``occurred_from`` inclusive, ``occurred_to`` exclusive (both with a UTC offset);
    amounts in fen, both inclusive. Hashable, so pages with equal filters batch together."""

    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    amount_min_cents: int | None = None
    amount_max_cents: int | None = None
    category: MerchantCategory | None = None
    kind: TransactionKind | None = None

    def __post_init__(self) -> None:
        require_offsets(occurredFrom=self.occurred_from, occurredTo=self.occurred_to)
        if (
            self.occurred_from is not None
            and self.occurred_to is not None
            and self.occurred_from >= self.occurred_to
        ):
            raise BadUserInput("`occurredFrom` must be before `occurredTo`", field="occurredFrom")
        if (
            self.amount_min_cents is not None
            and self.amount_max_cents is not None
            and self.amount_min_cents > self.amount_max_cents
        ):
            raise BadUserInput("`amountMin` must not be above `amountMax`", field="amountMin")


def transaction_conditions(filter: TransactionFilter) -> list[Any]:
    """The filter as SQL conditions on ``transactions``."""
    conditions: list[Any] = []
    if filter.occurred_from is not None:
        conditions.append(col(Transaction.occurred_at) >= filter.occurred_from)
    if filter.occurred_to is not None:
        conditions.append(col(Transaction.occurred_at) < filter.occurred_to)
    if filter.amount_min_cents is not None:
        conditions.append(col(Transaction.amount_cents) >= filter.amount_min_cents)
    if filter.amount_max_cents is not None:
        conditions.append(col(Transaction.amount_cents) <= filter.amount_max_cents)
    if filter.category is not None:
        conditions.append(col(Transaction.merchant_category) == filter.category.value)
    if filter.kind is not None:
        conditions.append(col(Transaction.kind) == filter.kind.value)
    return conditions


async def transaction_in_scope(
    *, db: RequestDatabase, principal: Principal, transaction_id: uuid.UUID
) -> TransactionView:
    """One transaction, if its card's customer is in the caller's scope and the caller may
    read cards (``node(id:)``); NOT_FOUND otherwise, never telling which."""
    if not principal.has(Scope.CARDS_READ):
        raise NotFound(NOT_FOUND_MESSAGE)
    result = await db.execute(
        select(Transaction, Card)
        .join(Card, col(Card.id) == col(Transaction.card_id))
        .join(Customer, col(Customer.id) == col(Card.customer_id))
        .where(col(Transaction.id) == transaction_id, customer_scope(principal))
    )
    row: Any = result.first()
    if row is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return TransactionView(row[0], row[1])
