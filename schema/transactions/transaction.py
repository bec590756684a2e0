"""``ingestTransactions``: a service account's batch of card transactions.

Every field is a ``String``, checked by the same code as a file import's cells
(resolvers/transactions/rows.py): with typed scalars or enums, one malformed value would fail
the whole call, where the contract is that a bad row is refused alone, by its index.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import Context, Info
from core.identity import Scope
from resolvers.batch_effects import batch_effect
from resolvers.risk.alert_events import publish_raised
from resolvers.transactions import ingest as service
from schema.common import UserError, mutation_payload, payload_field
from schema.described import described_field, optional_field
from schema.scope_field import scoped_field

INGEST = (
    "Stores a batch of card transactions (service accounts). "
    "At most 1,000 rows per call (CARDCRM_INGEST_MAX_ROWS); a bad row is refused alone "
    "(a row on an unknown card, or on one that is not ACTIVATED, included); sending the "
    "same rows again stores nothing twice. userErrors: FORBIDDEN, BAD_USER_INPUT."
)


@strawberry.input(
    description=(
        "One card transaction. Every field is a string of at most 200 characters, checked "
        "like a file import's cell, so a bad value refuses its row alone. With a `reference` "
        "a transaction is known by its card and reference, else by its whole content."
    )
)
class TransactionInput:
    card_id: strawberry.ID | None = optional_field(
        "The card (a Card ID, or its UUID); or give `pan`."
    )
    pan: str | None = optional_field(
        "The card number (16 to 19 digits, Luhn; spaces and dashes allowed); or give `cardId`."
    )
    amount: str = described_field(
        'A decimal string of currency units ("123.45"): above 0, at most 10000000, with at '
        "most 2 decimals."
    )
    currency: str | None = optional_field("ISO 4217; CNY if absent.")
    merchant: str = described_field("The merchant's name, at most 200 characters.")
    merchant_category: str = described_field(
        "dining, travel, shopping, electronics, grocery, entertainment, fuel or other (any case)."
    )
    channel: str = described_field("One of pos, online, mobile, atm (any case).")
    time: str = described_field(
        "When, ISO 8601 with a UTC offset; not before 2000, at most a day ahead of the server."
    )
    reference: str | None = optional_field(
        "The card network's transaction id: 1 to 64 printable ASCII characters, no spaces."
    )
    kind: str | None = optional_field(
        "purchase (if absent), repayment or refund (any case); the amount stays positive."
    )

    def to_fields(self) -> dict[str, object]:
        """The row as the file import reads it (field names of the CSV header)."""
        return {
            "card_id": self.card_id,
            "pan": self.pan,
            "amount": self.amount,
            "currency": self.currency,
            "merchant": self.merchant,
            "merchant_category": self.merchant_category,
            "channel": self.channel,
            "time": self.time,
            "reference": self.reference,
            "kind": self.kind,
        }


@strawberry.input(description="A batch of card transactions.")
class IngestTransactionsInput:
    transactions: list[TransactionInput] = described_field(
        "At most CARDCRM_INGEST_MAX_ROWS (1,000); more is BAD_USER_INPUT and nothing is stored."
    )


@strawberry.type(description="A refused transaction: its index in the input list, and why.")
class RejectedTransaction:
    index: int = described_field("Its position in `input.transactions`, from 0.")
    reason: str = described_field("Why it was refused (never quoting a card number).")


@strawberry.type(description="What a batch did: rows stored, rows already known, rows refused.")
class IngestTransactionsPayload:
    imported: int = payload_field("New transactions stored.", int)
    duplicates: int = payload_field("Transactions already stored; not repeated.", int)
    rejected: list[RejectedTransaction] = payload_field(
        "The rows refused, by index, in order; the other rows were stored or known.", list
    )
    user_errors: list[UserError] = payload_field(
        "Why nothing was stored (the whole call refused); empty otherwise.", list
    )

    @classmethod
    def of(cls, result: service.IngestResult) -> IngestTransactionsPayload:
        return cls(
            imported=result.imported,
            duplicates=result.duplicates,
            rejected=[
                RejectedTransaction(index=p.position, reason=p.reason) for p in result.rejected
            ],
        )


@strawberry.type
class TransactionMutation:
    @scoped_field(Scope.TRANSACTIONS_WRITE, INGEST)
    async def ingest_transactions(
        self,
        info: Info,
        input: Annotated[IngestTransactionsInput, strawberry.argument(description="The batch.")],
    ) -> IngestTransactionsPayload:

        raised_alerts: list[uuid.UUID] = []

        async def write(session: AsyncSession, ctx: Context) -> service.IngestResult:
            return await service.ingest_transactions(
                session=session,
                ring=ctx.key_ring,
                principal=ctx.principal,
                settings=ctx.settings,
                rows=[row.to_fields() for row in input.transactions],
                effect=batch_effect(ctx.settings, raised_alerts),
            )

        payload = await mutation_payload(
            info, IngestTransactionsPayload, write, IngestTransactionsPayload.of
        )
        await publish_raised(info.context.state.broker, raised_alerts)  # committed by now
        return payload
