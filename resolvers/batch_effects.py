"""What an imported batch of transactions changes beyond itself, composed in one place.

The transactions domain stores a batch and calls one ``BatchEffect`` before committing it
(resolvers/transactions/ingest.py); the callers (``cardcrm import transactions`` and the
``ingestTransactions`` mutation) pass the one built here. So a batch's transactions and
everything they cause commit together or not at all, and no domain imports another to do it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from resolvers.loyalty.earning import points_step
from resolvers.transactions.ingest import BatchEffect, BatchOutcome


def batch_effect(settings: Settings) -> BatchEffect:
    """The effects of a written batch, in order."""
    steps: Sequence[BatchEffect] = (points_step(settings),)

    async def effect(session: AsyncSession, outcome: BatchOutcome) -> None:
        for step in steps:
            await step(session, outcome)

    return effect
