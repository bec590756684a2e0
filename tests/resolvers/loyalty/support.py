"""Points test helpers: a fresh customer's card, an import that runs the batch effects, the
customer's ledger."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import col

from api.state import AppState
from models.cards.card import Card
from models.loyalty.ledger import PointsEntry
from resolvers.batch_effects import batch_effect
from resolvers.transactions.files import CountingLines, FileFormat, file_rows
from resolvers.transactions.ingest import ImportSummary, import_transactions
from tests.support import World, add_customer

HEADER = "card_id,amount,currency,merchant,merchant_category,channel,time,reference,kind\n"


@dataclass(frozen=True)
class Holder:
    customer_id: uuid.UUID
    card_id: uuid.UUID


async def new_holder(state: AppState, world: World, *, tier: str = "standard") -> Holder:
    """A new customer of ``tier`` with one active card: what a test posts touches no one else."""
    customer_id = await add_customer(state, world, tier=tier, active=True)
    async with state.database.session() as session:
        card = (await session.scalars(select(Card).where(Card.customer_id == customer_id))).one()
    return Holder(customer_id, card.id)


def line(
    holder: Holder,
    amount: str,
    *,
    category: str = "shopping",
    time: str = "2026-05-02T09:00:00+08:00",
    kind: str = "purchase",
    currency: str = "CNY",
    reference: str = "",
) -> str:
    return f"{holder.card_id},{amount},{currency},商户,{category},pos,{time},{reference},{kind}\n"


async def import_lines(state: AppState, *lines: str) -> ImportSummary:
    """Imports the rows as ``cardcrm import transactions`` does: with the batch effects."""
    text = HEADER + "".join(lines)
    return await import_transactions(
        database=state.database,
        ring=state.key_ring,
        rows=file_rows(CountingLines(io.BytesIO(text.encode())), FileFormat.CSV),
        batch_rows=100,
        effect=batch_effect(state.settings),
    )


async def ledger(state: AppState, customer_id: uuid.UUID) -> list[PointsEntry]:
    async with state.database.session() as session:
        query = (
            select(PointsEntry)
            .where(col(PointsEntry.customer_id) == customer_id)
            .order_by(col(PointsEntry.occurred_at), col(PointsEntry.kind))
        )
        return list(await session.scalars(query))


async def kinds_and_points(state: AppState, customer_id: uuid.UUID) -> list[tuple[str, int]]:
    return [(entry.kind, entry.points) for entry in await ledger(state, customer_id)]
