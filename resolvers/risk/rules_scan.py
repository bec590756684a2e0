"""``cardcrm risk scan``: the alert rules over the booked purchases of a time range.

For a backfill (alerts for transactions imported before the rules existed, or after their
thresholds changed) and for the benchmark. The range is walked in chunks of
``settings.risk_scan_chunk_rows`` purchases by id (keyset, so each chunk is an index range
and the whole walk reads each row once); each chunk runs the same statements a batch does
(``rules.run_rules``) and commits on its own, then its alerts are published. Alerts already
raised are not raised again (their natural keys), so a scan can be stopped and run again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from core.broker import Broker
from core.database import Database
from core.settings import Settings
from models.transactions.transaction import Transaction, TransactionKind
from resolvers.risk.alert_events import publish_raised
from resolvers.risk.rules import run_rules
from resolvers.risk.rules_input import candidates


@dataclass
class ScanSummary:
    since: datetime
    until: datetime | None
    checked: int = 0  # purchases the rules looked at
    raised: int = 0  # alerts raised now (not those raised before)
    chunks: int = 0


async def scan(
    *,
    database: Database,
    settings: Settings,
    since: datetime,
    until: datetime | None = None,
    broker: Broker | None = None,
    on_chunk: Callable[[ScanSummary], None] | None = None,
) -> ScanSummary:
    """Runs the rules over the purchases from ``since`` (included) to ``until`` (excluded)."""
    summary = ScanSummary(since, until)
    conditions = [
        col(Transaction.occurred_at) >= since,
        col(Transaction.kind) == TransactionKind.PURCHASE,
    ]
    if until is not None:
        conditions.append(col(Transaction.occurred_at) < until)
    last: uuid.UUID | None = None
    while True:
        async with database.session() as session:
            page = select(
                col(Transaction.id),
                col(Transaction.kind),
                col(Transaction.occurred_at),
                col(Transaction.currency),
                col(Transaction.amount_cents),
            ).where(*conditions)
            if last is not None:
                page = page.where(col(Transaction.id) > last)
            rows = (
                await session.execute(
                    page.order_by(col(Transaction.id)).limit(settings.risk_scan_chunk_rows)
                )
            ).all()
            if not rows:
                return summary
            raised = await run_rules(session, settings, candidates(settings, rows))
            await session.commit()
        last = rows[-1][0]
        summary.checked += len(rows)
        summary.raised += len(raised)
        summary.chunks += 1
        if broker is not None:
            await publish_raised(broker, raised)
        if on_chunk is not None:
            on_chunk(summary)
