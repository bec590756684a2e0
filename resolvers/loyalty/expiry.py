"""Expiring points (``cardcrm points expire --as-of DATE``): one set-based ``INSERT …
SELECT`` posts an ``expire`` entry for every customer whose expired points were not spent.

FIFO: every debit (redeem, reverse, expire, negative adjust) spends the oldest points
first. So of the points whose ``expires_at`` is at or before the cut-off (the as-of date's
start, bank time) what is still unspent is ``max(0, expired credits − all debits so far)``,
and that is what the entry takes. Debits are counted as the ledger holds them when the batch
runs. An entry's key is (customer, as-of date): a second run of the same day posts nothing,
and a later run posts only what expired since (the earlier expire entries are debits).

Worked example (tests/resolvers/loyalty/test_expiry.py): 100 earned in 2023 and 50 in 2024,
30 redeemed in 2025; on 2026-01-01 (two years kept) the 2023 points expire: 100 − 30 = 70;
on 2027-01-01 the 2024 points do: 150 − (30 + 70) = 50.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import String, Table, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from models.columns import UTCDateTime, utcnow
from models.loyalty.ledger import PointsEntry, PointsKind
from resolvers.batch_sql import insert_new, new_uuid

EXPIRE_ACTION = "points.expire"
ENTRIES: Table = PointsEntry.__table__  # type: ignore[attr-defined]


def cut_off(as_of: date, settings: Settings) -> datetime:
    """The as-of date's first instant in bank time, as UTC."""
    zone = ZoneInfo(settings.contact_timezone)
    return datetime(as_of.year, as_of.month, as_of.day, tzinfo=zone).astimezone(UTC)


async def expire_points(session: AsyncSession, *, as_of: date, settings: Settings) -> int:
    """Posts the expire entries due by ``as_of``; how many were written (uncommitted)."""
    e = ENTRIES.c
    instant = cut_off(as_of, settings)
    due = func.sum(case(((e.points > 0) & (e.expires_at <= instant), e.points), else_=0))
    spent = func.sum(case((e.points < 0, -e.points), else_=0))
    figures = (
        select(e.customer_id, due.label("due"), spent.label("spent"))
        .group_by(e.customer_id)
        .subquery()
    )
    f = figures.c
    rows = select(
        new_uuid(),
        f.customer_id,
        literal(PointsKind.EXPIRE.value),
        f.spent - f.due,
        literal(instant, UTCDateTime),
        literal("expire:") + cast(f.customer_id, String) + literal(f":{as_of.isoformat()}"),
        literal(utcnow(), UTCDateTime),
    ).where(f.due > f.spent)
    columns = ["id", "customer_id", "kind", "points", "occurred_at", "natural_key", "created_at"]
    statement = (
        insert_new(session, ENTRIES)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=[ENTRIES.c.natural_key])
    )
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]
