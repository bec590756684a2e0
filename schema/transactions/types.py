"""The ``Transaction`` type and the filter of the transaction connections.

A transaction holds its card as the ``Card`` type shows it (the last 4 as the PAN's policy
row lets the caller see them). ``Card`` is named lazily: the cards domain's type takes the
``transactions`` field from this domain (``schema.transactions.card_fields``), so this module
cannot import it; whoever builds a Transaction hands it the Card (``of``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from core.money import cents_of, yuan
from models.transactions.transaction import MerchantCategory, TransactionKind
from models.transactions.transaction import Transaction as TransactionRow
from resolvers.transactions.reading import TransactionFilter as TransactionFilterData
from resolvers.transactions.rows import TransactionChannel
from schema.described import optional_field
from schema.policy_field import sensitive_field
from schema.relay import Node, to_global_id

if TYPE_CHECKING:
    # What mypy sees; strawberry resolves the name through the lazy reference below.
    from typing import Any as Card

CardRef = Annotated["Card", strawberry.lazy("schema.cards.card")]


@strawberry.type(
    description="A card transaction (a purchase, a repayment or a refund), as the card network "
    "reported it. Read-only."
)
class Transaction(Node):
    card: CardRef = strawberry.field(description="The card it was made on.")
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. `CNY`.")
    merchant_category: MerchantCategory = strawberry.field(
        description="The merchant's business category."
    )
    kind: TransactionKind = strawberry.field(description="What it does to the balance.")
    channel: TransactionChannel = strawberry.field(description="Where the card was used.")
    occurred_at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    _row: strawberry.Private[TransactionRow]

    @sensitive_field("Transaction", "amount")
    def amount(self) -> Decimal | None:
        return yuan(self._row.amount_cents)

    @sensitive_field("Transaction", "merchantName")
    def merchant_name(self) -> str | None:
        return self._row.merchant_name

    @classmethod
    def of(cls, row: TransactionRow, card: Any) -> Transaction:
        """``card``: the transaction's card as a ``Card`` object."""
        return cls(
            id=to_global_id("Transaction", row.id),
            card=card,
            currency=row.currency,
            merchant_category=MerchantCategory(row.merchant_category),
            kind=TransactionKind(row.kind),
            channel=TransactionChannel(row.channel),
            occurred_at=row.occurred_at,
            _row=row,
        )


@strawberry.input(
    description=(
        "Narrows a transaction list; every field is optional and they combine with AND. "
        "Ranges out of order are BAD_USER_INPUT."
    )
)
class TransactionFilter:
    occurred_from: datetime | None = optional_field(
        "Only transactions at or after this instant (ISO 8601 with a UTC offset)."
    )
    occurred_to: datetime | None = optional_field(
        "Only transactions before this instant (ISO 8601 with a UTC offset); after `occurredFrom`."
    )
    amount_min: Decimal | None = optional_field(
        "Only amounts of at least this many yuan (at most two decimals, not negative)."
    )
    amount_max: Decimal | None = optional_field(
        "Only amounts of at most this many yuan (at most two decimals); not below `amountMin`."
    )
    category: MerchantCategory | None = optional_field("Only this merchant category.")
    kind: TransactionKind | None = optional_field(
        "Only this kind (purchases, repayments, refunds)."
    )

    def to_filter(self) -> TransactionFilterData:
        return TransactionFilterData(
            occurred_from=self.occurred_from,
            occurred_to=self.occurred_to,
            amount_min_cents=None
            if self.amount_min is None
            else cents_of("amountMin", self.amount_min),
            amount_max_cents=None
            if self.amount_max is None
            else cents_of("amountMax", self.amount_max),
            category=self.category,
            kind=self.kind,
        )


def wanted(filter: TransactionFilter | None) -> TransactionFilterData:
    """The checked filter (BAD_USER_INPUT at the field for a bad value)."""
    return filter.to_filter() if filter is not None else TransactionFilterData()
