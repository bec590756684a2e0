"""Cards: the PAN is C2 (masked per role), and so are its BIN and last 4, which follow the
PAN's policy row; the credit limit is C1."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from core.money import yuan
from models.cards.card import Card as CardRow
from models.cards.card import CardStatus
from schema.cards.limits import CardLimitFields, register_card_type
from schema.policy_field import sealed_field, sensitive_field
from schema.relay import Node, to_global_id


@strawberry.type(description="A credit card. Only the sealed PAN, its BIN and last 4 are kept.")
class Card(Node, CardLimitFields):
    product: str = strawberry.field(description="The card product's name, e.g. `UnionPay Classic`.")
    status: CardStatus = strawberry.field(description="Where the card is in its life.")
    issued_at: datetime | None = strawberry.field(
        description="When the card was issued (ISO 8601, UTC); null: not recorded."
    )
    activated_at: datetime | None = strawberry.field(
        description="When the card was activated (ISO 8601, UTC); null: not activated."
    )
    _row: strawberry.Private[CardRow]

    pan = sealed_field("Card", "pan", "pan")

    @sensitive_field("Card", "bin")
    def bin(self) -> str | None:
        return self._row.bin

    @sensitive_field("Card", "last4")
    def last4(self) -> str | None:
        return self._row.last4

    @sensitive_field("Card", "creditLimit")
    def credit_limit(self) -> Decimal | None:
        return yuan(self._row.credit_limit_cents)

    @classmethod
    def from_row(cls, row: CardRow) -> Card:
        return cls(
            id=to_global_id("Card", row.id),
            product=row.product,
            status=CardStatus(row.status),
            issued_at=row.issued_at,
            activated_at=row.activated_at,
            _row=row,
        )


register_card_type(Card)
