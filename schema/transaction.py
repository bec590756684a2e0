"""``ingestTransactions``: a service account's batch of card transactions.

Every field is a ``String``, checked by the same code as a file import's cells
(resolvers/transaction_rows.py): with typed scalars or enums, one malformed value would fail
the whole call, where the contract is that a bad row is refused alone, by its index.
"""

from __future__ import annotations

import strawberry

from api.context import Info
from resolvers import transaction_import as service
from schema.common import UserError, run_mutation


@strawberry.input(
    description=(
        "One card transaction. The card is `cardId` (a Card ID) or `pan`, not both. `amount` "
        'is a decimal string of currency units ("123.45"); `time` is ISO 8601 with a UTC '
        "offset; `merchantCategory` is dining, travel, shopping, electronics, grocery, "
        "entertainment, fuel or other; `channel` is pos, online, mobile or atm. With a "
        "`reference` (the card network's transaction id) a transaction is known by its card "
        "and reference, else by its whole content."
    )
)
class TransactionInput:
    card_id: strawberry.ID | None = None
    pan: str | None = None
    amount: str
    currency: str | None = strawberry.field(default=None, description="ISO 4217; CNY if absent.")
    merchant: str
    merchant_category: str
    channel: str
    time: str
    reference: str | None = None

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
        }


@strawberry.input
class IngestTransactionsInput:
    transactions: list[TransactionInput]


@strawberry.type(description="A refused transaction: its index in the input list, and why.")
class RejectedTransaction:
    index: int
    reason: str


@strawberry.type
class IngestTransactionsPayload:
    imported: int = strawberry.field(description="New transactions stored.")
    duplicates: int = strawberry.field(description="Transactions already stored; not repeated.")
    rejected: list[RejectedTransaction]
    user_errors: list[UserError]


def _refused(errors: list[UserError]) -> IngestTransactionsPayload:
    return IngestTransactionsPayload(imported=0, duplicates=0, rejected=[], user_errors=errors)


@strawberry.type
class TransactionMutation:
    @strawberry.mutation(
        description=(
            "Stores a batch of card transactions (scope transactions:write: service accounts). "
            "At most 1,000 rows per call (CARDCRM_INGEST_MAX_ROWS); a bad row is refused alone; "
            "sending the same rows again stores nothing twice."
        )
    )
    async def ingest_transactions(
        self, info: Info, input: IngestTransactionsInput
    ) -> IngestTransactionsPayload:
        ctx = info.context

        async def work() -> IngestTransactionsPayload:
            async with ctx.db.exclusive() as session:
                result = await service.ingest_transactions(
                    session=session,
                    ring=ctx.key_ring,
                    principal=ctx.principal,
                    settings=ctx.settings,
                    rows=[row.to_fields() for row in input.transactions],
                )
            return IngestTransactionsPayload(
                imported=result.imported,
                duplicates=result.duplicates,
                rejected=[
                    RejectedTransaction(index=p.position, reason=p.reason) for p in result.rejected
                ],
                user_errors=[],
            )

        return await run_mutation(work, _refused)
