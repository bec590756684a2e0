"""Building blocks of the alert tests: cards in a status, imported rows, the alerts raised."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import col

from models.cards.card import Card, CardStatus
from models.risk.alert import RiskAlert
from resolvers.batch_effects import batch_effect
from resolvers.transactions.files import CountingLines, FileFormat, file_rows
from resolvers.transactions.ingest import ImportSummary, import_transactions
from tests.conftest import Server
from tests.support import World, add_customer

NOW = datetime(2026, 6, 1, tzinfo=UTC)
HEADER = "card_id,pan,amount,currency,merchant,merchant_category,channel,time,reference,kind\n"


def row(
    card: Card,
    at: str,
    *,
    amount: str = "88.00",
    currency: str = "CNY",
    category: str = "dining",
    reference: str = "",
    kind: str = "purchase",
) -> str:
    """A CSV row; ``at`` is an ISO time with its offset (e.g. ``2026-05-01T12:30:00+08:00``)."""
    return f"{card.id},,{amount},{currency},星巴克,{category},pos,{at},{reference},{kind}\n"


async def new_card(
    server: Server,
    world: World,
    status: CardStatus = CardStatus.ACTIVATED,
    *,
    branch: str = "BJ-CY",
) -> Card:
    """A new customer's only card, in ``status``."""
    customer_id = await add_customer(server.state, world, branch=branch, active=True)
    async with server.state.database.session() as session:
        card = (await session.scalars(select(Card).where(Card.customer_id == customer_id))).one()
        card.status = status
        await session.commit()
        await session.refresh(card)
    return card


async def run_import(
    server: Server, *rows: str, raised: list[uuid.UUID] | None = None
) -> ImportSummary:
    """Imports the rows through the batch effect the CLI and the mutation use."""
    return await import_transactions(
        database=server.state.database,
        ring=server.state.key_ring,
        rows=file_rows(
            CountingLines(io.BytesIO((HEADER + "".join(rows)).encode())), FileFormat.CSV
        ),
        batch_rows=1000,
        now=NOW,
        effect=batch_effect(server.state.settings, raised),
    )


async def alerts_of(server: Server, customer_id: uuid.UUID) -> list[RiskAlert]:
    async with server.state.database.session() as session:
        rows = await session.scalars(
            select(RiskAlert)
            .where(col(RiskAlert.customer_id) == customer_id)
            .order_by(col(RiskAlert.occurred_at))
        )
        return list(rows)
