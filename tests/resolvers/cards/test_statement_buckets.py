"""Each closed statement keeps its card's overdue bucket as it closed.

Given a card closing on the 15th whose January minimum is missed and caught up in March,
when its cycles are closed month by month, then the statements carry current, M1, M2 and
current again: the card's standing at each close, which the roll rates of
``analytics.risk`` read. Statements of earlier closes keep theirs when the card moves on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.database import Database
from tests.models.conftest import FreshDatabase
from tests.resolvers.cards.support_statements import add_card, book, close, statements_of


@pytest.fixture
async def database(fresh_database: FreshDatabase) -> AsyncIterator[Database]:
    async with fresh_database.database() as database:
        yield database


async def test_each_statement_records_the_bucket_its_close_gave_the_card(
    fresh_database: FreshDatabase, database: Database
) -> None:
    settings = fresh_database.settings
    async with database.session() as session:
        card = await add_card(session)
        other_day = await add_card(session, statement_day=16)
        await book(session, card.id, [("purchase", "1000.00", "2026-01-03T10:00:00+08:00")])
        await book(session, other_day.id, [("purchase", "10.00", "2026-01-03T10:00:00+08:00")])
        await session.commit()

    await close(database, settings, "2026-01-15")  # 1000 billed, 100 due by Feb 4
    await close(database, settings, "2026-02-15")  # nothing repaid: 11 days late, M1
    await close(database, settings, "2026-03-15")  # 39 days late: M2
    async with database.session() as session:
        await book(session, card.id, [("repayment", "300.00", "2026-03-20T12:00:00+08:00")])
        await session.commit()
    await close(database, settings, "2026-04-15")  # caught up: current
    buckets = [bill.overdue_bucket for bill in await statements_of(database, card.id)]
    assert buckets == ["current", "m1", "m2", "current"]
    # Its statement day is the 16th: none was closed, none was written.
    assert await statements_of(database, other_day.id) == []


async def test_closing_the_same_day_again_keeps_the_recorded_bucket(
    fresh_database: FreshDatabase, database: Database
) -> None:
    settings = fresh_database.settings
    async with database.session() as session:
        card = await add_card(session, statement_day=5, due_days=10)
        await book(session, card.id, [("purchase", "200.00", "2026-01-02T10:00:00+08:00")])
        await session.commit()
    await close(database, settings, "2026-01-05")
    await close(database, settings, "2026-02-05")  # 20 due Jan 15, unpaid: M1
    await close(database, settings, "2026-02-05")
    assert [bill.overdue_bucket for bill in await statements_of(database, card.id)] == [
        "current",
        "m1",
    ]
