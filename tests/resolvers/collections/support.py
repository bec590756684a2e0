"""Overdue cards and their collection cases on a fresh database, for the collections tests:
bare rows built like the statement tests' (tests/resolvers/cards/support_statements.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import col

from core.database import Database
from core.encryption import KeyRing
from core.settings import Settings
from models.cards.card import Card
from models.collections.case import CollectionCase
from models.columns import utcnow
from resolvers.batch_effects import batch_effect
from resolvers.cards.statements import close_statements
from resolvers.collections.sync import SyncSummary, sweep
from resolvers.transactions.ingest import BatchOutcome, write_batch
from resolvers.transactions.rows import RawRow, check_row
from tests.resolvers.cards.support_statements import add_card, book


async def close_and_sync(database: Database, settings: Settings, as_of: str) -> SyncSummary:
    """``statements close`` as the CLI runs it: the close, then the cases, one commit."""
    day = date.fromisoformat(as_of)
    async with database.session() as session:
        await close_statements(session=session, settings=settings, as_of=day)
        summary = await sweep(session, settings, day)
        await session.commit()
        return summary


async def sweep_on(database: Database, settings: Settings, as_of: str) -> SyncSummary:
    async with database.session() as session:
        summary = await sweep(session, settings, date.fromisoformat(as_of))
        await session.commit()
        return summary


async def overdue_cards(
    database: Database, settings: Settings, count: int = 1, *, purchase: str = "1000.00"
) -> list[Card]:
    """Cards billed ``purchase`` on Jan 15 (minimum 10 %, due Feb 4), unpaid: 11 days past
    due (M1) at the Feb 15 close, with their cases opened then."""
    async with database.session() as session:
        cards = [await add_card(session, statement_day=15) for _ in range(count)]
        for card in cards:
            await book(session, card.id, [("purchase", purchase, "2026-01-03T10:00:00+08:00")])
        await session.commit()
    await close_and_sync(database, settings, "2026-01-15")
    await close_and_sync(database, settings, "2026-02-15")
    return cards


async def overdue_card(database: Database, settings: Settings) -> Card:
    [card] = await overdue_cards(database, settings)
    return card


async def cases_of(database: Database, card_id: uuid.UUID) -> list[CollectionCase]:
    async with database.session() as session:
        rows = await session.scalars(
            select(CollectionCase)
            .where(col(CollectionCase.card_id) == card_id)
            .order_by(col(CollectionCase.opened_at))
        )
        return list(rows)


async def import_repayment(
    database: Database,
    ring: KeyRing,
    settings: Settings,
    card_id: uuid.UUID,
    yuan: str,
    *,
    at: datetime | None = None,
) -> BatchOutcome:
    """A repayment through the import's batch write, with the house's batch effect."""
    when = at or utcnow()
    row = check_row(
        RawRow(
            1,
            {
                "card_id": str(card_id),
                "amount": yuan,
                "merchant": "Bank transfer",
                "merchant_category": "other",
                "channel": "online",
                "time": when.isoformat(),
                "kind": "repayment",
            },
        ),
        now=utcnow(),
    )
    async with database.session() as session:
        outcome = await write_batch(session, ring, [row], batch_effect(settings))
        await session.commit()
    return outcome
