"""What an imported batch of transactions changes beyond itself, composed in one place.

The transactions domain stores a batch and calls one ``BatchEffect`` before committing it
(resolvers/transactions/ingest.py); the callers (``cardcrm import transactions`` and the
``ingestTransactions`` mutation) pass the one built here. So a batch's transactions and
everything they cause commit together or not at all, and no domain imports another to do it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from models.columns import utcnow
from models.transactions.transaction import TransactionKind
from resolvers.cards.standing import update_standing_now
from resolvers.collections.reminders import cancel_paid_reminders
from resolvers.collections.sync import local_day, sync_cases
from resolvers.loyalty.earning import points_step
from resolvers.risk.rules import alert_rules
from resolvers.transactions.ingest import BatchEffect, BatchOutcome


def repayment_standing(settings: Settings) -> BatchEffect:
    """The repaid cards' standing as of now, then their collection cases and reminders: a
    repayment that covers what is overdue makes the card current and closes its case (CURED)
    at once; one that pays a bill's minimum cancels its planned reminders."""

    async def step(session: AsyncSession, outcome: BatchOutcome) -> None:
        repaid = {row.card_id for row in outcome.booked if row.kind == TransactionKind.REPAYMENT}
        if not repaid:
            return
        as_of, _ = await update_standing_now(session, settings, repaid, utcnow())
        starts, ends = local_day(settings, as_of)
        await sync_cases(session, as_of=as_of, day_starts=starts, closes_at=ends, card_ids=repaid)
        await cancel_paid_reminders(session, repaid)

    return step


def batch_effect(settings: Settings, raised_alerts: list[uuid.UUID] | None = None) -> BatchEffect:
    """The effects of a written batch, in order: the repaid cards' standing and cases, the
    points earned (and reversed by refunds), then the risk rules. ``raised_alerts`` collects
    the ids of the risk alerts the batch raised, for the caller to publish after it commits."""
    steps: Sequence[BatchEffect] = (
        repayment_standing(settings),
        points_step(settings),
        alert_rules(settings, raised_alerts),
    )

    async def effect(session: AsyncSession, outcome: BatchOutcome) -> None:
        for step in steps:
            await step(session, outcome)

    return effect
