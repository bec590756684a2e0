"""The ``risk_alert.raised`` events of a batch of alerts, written set-based in its transaction.

The alert rules insert alerts in SQL (``resolvers.risk.rules``), so no audit append passes
for each one; this reads the alerts just raised (one statement per chunk) and inserts their
outbox rows in multi-row INSERTs, before the batch commits. The payload is built here, not in
SQL, because SQLite has no base64 for the Relay global ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import outbox
from models.columns import new_id, utcnow
from models.events.outbox import OutboxEvent
from models.risk.alert import RiskAlert
from resolvers.batch_sql import among

OUTBOX: Table = OutboxEvent.__table__  # type: ignore[attr-defined]
CHUNK = 500


def _row(alert: Any, now: Any) -> dict[str, Any]:
    card = outbox.global_id("Card", alert.card_id) if alert.card_id is not None else None
    payload = {
        "id": outbox.global_id("RiskAlert", alert.id),
        "customerId": outbox.global_id("Customer", alert.customer_id),
        "cardId": card,
        "rule": alert.rule,
        "severity": alert.severity,
        "status": alert.status,
    }
    return {
        "event_id": new_id(),
        "type": "risk_alert.raised",
        "schema_version": outbox.SCHEMA_VERSION,
        "aggregate_type": "RiskAlert",
        "aggregate_id": str(alert.id),
        "payload": payload,
        "occurred_at": now,
    }


async def write_raised(session: AsyncSession, ids: Sequence[uuid.UUID]) -> None:
    """One ``risk_alert.raised`` event per alert in ``ids`` (raised, not yet committed)."""
    if not ids:
        return
    await outbox.lock(session)
    dialect, now = session.get_bind().dialect.name, utcnow()
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        r = RiskAlert
        columns: list[Any] = [r.id, r.customer_id, r.card_id, r.rule, r.severity, r.status]
        alerts = await session.execute(
            select(*columns)
            .where(among(dialect, col(r.id), chunk, "alert_ids"))
            .order_by(col(r.created_at), col(r.id))
        )
        rows = [_row(alert, now) for alert in alerts]
        if rows:
            await session.execute(insert(OUTBOX), rows)
