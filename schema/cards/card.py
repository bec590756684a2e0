"""Cards: the PAN is C2 (masked per role), and so are its BIN and last 4, which follow the
PAN's policy row; the credit limit is C1."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from core.context import Info
from core.errors import BadUserInput
from core.identity import Scope
from core.money import yuan
from models.cards.card import Card as CardRow
from models.cards.card import CardStatus
from resolvers.cards.loaders import CardByIdLoader, HistoryByCardLoader
from resolvers.cards.workflow import CARD_WORKFLOW, CardAction
from schema.cards.history import CardHistoryEntry
from schema.cards.limits import CardLimitFields, register_card_type
from schema.cards.statements import CardStatementFields
from schema.policy_field import sealed_field, sensitive_field
from schema.relay import Node, to_global_id
from schema.scope_field import scoped_field
from schema.transactions.card_fields import card_transactions

HISTORY_DEFAULT, HISTORY_MAX = 20, 100
HistoryFirst = Annotated[
    int,
    strawberry.argument(description=f"How many entries, newest first: 1 to {HISTORY_MAX}."),
]


@strawberry.type(description="A credit card. Only the sealed PAN, its BIN and last 4 are kept.")
class Card(Node, CardStatementFields, CardLimitFields):
    product: str = strawberry.field(description="The card product's name, e.g. `UnionPay Classic`.")
    status: CardStatus = strawberry.field(description="Where the card is in its life.")
    issued_at: datetime | None = strawberry.field(
        description="When the card was issued (ISO 8601, UTC); null: not recorded."
    )
    activated_at: datetime | None = strawberry.field(
        description="When the card was activated (ISO 8601, UTC); null: not activated."
    )
    version: int = strawberry.field(
        description="Starts at 1, +1 on every change; the card mutations take it back "
        "(CONFLICT if it is no longer current)."
    )
    _row: strawberry.Private[CardRow]

    pan = sealed_field("Card", "pan", "pan")

    @scoped_field(Scope.CARDS_READ, "The workflow actions allowed in the current status.")
    def allowed_actions(self) -> list[CardAction] | None:
        return CARD_WORKFLOW.allowed_actions(CardStatus(self._row.status))

    @scoped_field(
        Scope.CARDS_READ,
        f"Every change of status, newest first (default {HISTORY_DEFAULT}); entries are "
        "never edited.",
    )
    async def history(
        self, info: Info, first: HistoryFirst = HISTORY_DEFAULT
    ) -> list[CardHistoryEntry] | None:
        if not 1 <= first <= HISTORY_MAX:
            raise BadUserInput(f"first must be 1 to {HISTORY_MAX}", field="first")
        rows = await info.context.loader(HistoryByCardLoader).load((self._row.id, first))
        return [CardHistoryEntry.from_row(row) for row in rows]

    @scoped_field(
        Scope.CARDS_READ, "The card issued to replace this one (lost or stolen); null if none."
    )
    async def replaced_by(self, info: Info) -> Card | None:
        return await _linked(info, self._row.replaced_by_id)

    @scoped_field(Scope.CARDS_READ, "The lost or stolen card this one replaces; null if none.")
    async def replaces(self, info: Info) -> Card | None:
        return await _linked(info, self._row.replaces_id)

    @sensitive_field("Card", "bin")
    def bin(self) -> str | None:
        return self._row.bin

    @sensitive_field("Card", "last4")
    def last4(self) -> str | None:
        return self._row.last4

    @sensitive_field("Card", "creditLimit")
    def credit_limit(self) -> Decimal | None:
        return yuan(self._row.credit_limit_cents)

    transactions = card_transactions

    @classmethod
    def from_row(cls, row: CardRow) -> Card:
        return cls(
            id=to_global_id("Card", row.id),
            product=row.product,
            status=CardStatus(row.status),
            issued_at=row.issued_at,
            activated_at=row.activated_at,
            version=row.version,
            _row=row,
        )


async def _linked(info: Info, card_id: uuid.UUID | None) -> Card | None:
    """A card linked to one the caller reached (the same customer's, so in the same scope)."""
    if card_id is None:
        return None
    row = await info.context.loader(CardByIdLoader).load(card_id)
    return Card.from_row(row) if row is not None else None


register_card_type(Card)
