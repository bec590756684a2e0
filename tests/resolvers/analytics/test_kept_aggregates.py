"""The figures read from the kept aggregates equal the full counts they replace (issue 17).

Given the hand-counted worlds of the growth and service KPI tests, when the customer base by
tier and stage is read from ``customer_counts`` and the active customers from
``purchase_spans``, then every figure equals what the old whole-table SQL counts
(``tests.resolvers.analytics.kept``), for all branches and each branch, over ranges that
start and end on, just before and just after every purchase of the world.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

import migrations
from core.database import Database
from core.request_database import RequestDatabase
from models.organisation.organisation import Branch
from resolvers.analytics.customer_base import customer_base
from resolvers.analytics.sql import active_customers
from tests.models.conftest import FreshDatabase
from tests.resolvers.analytics import test_growth, test_service
from tests.resolvers.analytics.kept import drift, full_active, full_by_stage, full_by_tier

BEFORE_KEPT = "0018_erasure"  # the revision before customer_counts and purchase_spans
MICROSECOND = timedelta(microseconds=1)
WIDE = (
    (datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
    (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),
    (datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)),
    test_growth.MARCH,
    test_service.JUNE,
    test_service.EMPTY_YEAR,
)


@pytest.fixture(params=["growth", "service", "growth, backfilled"])
async def hand_counted(
    request: pytest.FixtureRequest, fresh_database: FreshDatabase
) -> AsyncIterator[Database]:
    """A hand-counted world; "backfilled": written before the kept aggregates existed (the
    database taken down to the revision before them), then migrated up, which fills them."""
    build = test_service._build if request.param == "service" else test_growth._build
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        if request.param.endswith("backfilled"):
            await asyncio.to_thread(migrations.downgrade, fresh_database.url, BEFORE_KEPT)
        async with database.session() as session:
            await build(session, ring)
        if request.param.endswith("backfilled"):
            await asyncio.to_thread(migrations.upgrade, fresh_database.url)
        yield database


async def _ranges(db: RequestDatabase) -> list[tuple[datetime, datetime]]:
    """The wide ranges, and around every purchase: ranges ending on it, starting on it, and
    the one microsecond it is in (the edges where a span is in, around or out of a range)."""
    result = await db.execute(text("SELECT DISTINCT occurred_at FROM transactions"))
    times = [
        value if isinstance(value, datetime) else datetime.fromisoformat(value)
        for (value,) in result.all()
    ]
    ranges = list(WIDE)
    for moment in (t if t.tzinfo else t.replace(tzinfo=UTC) for t in times):
        ranges += [
            (moment - timedelta(days=40), moment),
            (moment, moment + timedelta(days=40)),
            (moment, moment + MICROSECOND),
            (moment - timedelta(days=1), moment + timedelta(days=1)),
        ]
    return ranges


async def test_every_kept_figure_equals_the_full_count(hand_counted: Database) -> None:
    async with hand_counted.session() as session:
        db = RequestDatabase(session)
        branches: list[uuid.UUID | None] = [None, *await db.scalars(select(Branch.id))]
        ranges = await _ranges(db)
        assert len(ranges) > len(WIDE)  # the world has purchases to go round
        for branch in branches:
            by_tier, by_stage = await customer_base(db, branch)
            assert by_tier == await full_by_tier(db, branch), branch
            assert by_stage == await full_by_stage(db, branch), branch
            for date_from, date_to in ranges:
                kept = int(await db.scalar(active_customers(date_from, date_to, branch)))
                full = await full_active(db, date_from, date_to, branch)
                assert kept == full, (branch, date_from, date_to)


async def test_the_kept_rows_equal_a_recount_of_the_world(hand_counted: Database) -> None:
    async with hand_counted.session() as session:
        assert await drift(session) == {}


async def test_a_kept_row_off_by_one_is_noticed(hand_counted: Database) -> None:
    """The recount would catch drift: the check is not vacuous."""
    async with hand_counted.session() as session:
        await session.execute(text("UPDATE customer_counts SET customers = customers + 1"))
        await session.execute(text("DELETE FROM purchase_spans"))
        found = await drift(session)
        await session.rollback()
    assert set(found) == {"customer_counts", "purchase_spans"}
