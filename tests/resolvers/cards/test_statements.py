"""Statement close, by hand-computed cycles on a fresh database.

Given a card closing on the 15th with 20 days to pay and a minimum of 10 % (the default),
when its cycles are closed month by month, then each bill carries the previous balance plus
purchases minus refunds and repayments, a minimum never above the balance, a due date 20
days on; a missed minimum puts the card in M1, then M2 at the next close, and a repayment
that catches up cures it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from core.database import Database, counting_statements
from tests.models.conftest import FreshDatabase
from tests.resolvers.cards.support_statements import (
    add_card,
    book,
    close,
    standing,
    statements_of,
)


@pytest.fixture
async def database(fresh_database: FreshDatabase) -> AsyncIterator[Database]:
    async with fresh_database.database() as database:
        yield database


async def test_cycles_bill_what_was_spent_and_a_missed_due_date_ages_then_cures(
    fresh_database: FreshDatabase, database: Database
) -> None:
    settings = fresh_database.settings
    async with database.session() as session:
        card = await add_card(session)
        await book(
            session,
            card.id,
            [
                ("purchase", "1000.00", "2026-01-03T10:00:00+08:00"),
                ("purchase", "500.00", "2026-01-10T10:00:00+08:00"),
                ("refund", "200.00", "2026-01-12T10:00:00+08:00"),
                ("repayment", "100.00", "2026-01-14T10:00:00+08:00"),
                # After the close (local midnight ending the 15th): the next cycle's.
                ("purchase", "77.00", "2026-01-16T00:00:00+08:00"),
                ("repayment", "50.00", "2026-01-20T09:00:00+08:00"),  # below the minimum
            ],
        )
        await session.commit()

    first = await close(database, settings, "2026-01-15")
    assert first.closed == 1
    [bill] = await statements_of(database, card.id)
    assert (bill.cycle_start, bill.cycle_end) == (date(2025, 12, 16), date(2026, 1, 15))
    assert (bill.previous_balance_cents, bill.purchases_cents) == (0, 150_000)
    assert (bill.refunds_cents, bill.repayments_cents) == (20_000, 10_000)
    assert bill.balance_cents == 120_000  # 1500 − 200 − 100
    assert bill.minimum_payment_cents == 12_000  # 10 %
    assert bill.due_date == date(2026, 2, 4)
    assert bill.paid_by_due is None
    assert await standing(database, card.id) == (0, "current")

    second = await close(database, settings, "2026-02-15")
    s1, s2 = await statements_of(database, card.id)
    assert s1.paid_by_due is False  # 50 repaid by Feb 4, 120 due
    assert s2.cycle_start == date(2026, 1, 16)
    assert (s2.previous_balance_cents, s2.purchases_cents, s2.repayments_cents) == (
        120_000,
        7_700,
        5_000,
    )
    assert s2.balance_cents == 122_700
    assert s2.minimum_payment_cents == 12_270
    assert await standing(database, card.id) == (11, "m1")  # Feb 15 − Feb 4
    assert second.overdue == {"m1": 1}

    await close(database, settings, "2026-03-15")
    assert await standing(database, card.id) == (39, "m2")  # still counted from Feb 4

    async with database.session() as session:
        # 50 + 350 ≥ 120 + 122.70: the missed minimums caught up; and 350 ≥ the March bill's
        # minimum, by its due date.
        await book(session, card.id, [("repayment", "350.00", "2026-03-20T12:00:00+08:00")])
        await session.commit()
    await close(database, settings, "2026-04-15")
    *_, s3, s4 = await statements_of(database, card.id)
    assert s3.paid_by_due is True
    assert s4.balance_cents == 122_700 - 35_000
    assert await standing(database, card.id) == (0, "current")


async def test_a_repayment_after_the_due_date_cures_before_the_next_due_date(
    fresh_database: FreshDatabase, database: Database
) -> None:
    settings = fresh_database.settings
    async with database.session() as session:
        card = await add_card(session, statement_day=5, due_days=10)
        await book(session, card.id, [("purchase", "200.00", "2026-01-02T10:00:00+08:00")])
        await session.commit()
    await close(database, settings, "2026-01-05")  # 200 due, minimum 20 by Jan 15
    async with database.session() as session:
        await book(session, card.id, [("repayment", "20.00", "2026-01-20T10:00:00+08:00")])
        await session.commit()
    await close(database, settings, "2026-02-05")
    assert await standing(database, card.id) == (0, "current")  # late, but caught up


async def test_the_minimum_is_never_above_the_balance_and_zero_when_nothing_is_owed(
    fresh_database: FreshDatabase, database: Database
) -> None:
    async with database.session() as session:
        small = await add_card(session, statement_day=3)
        overpaid = await add_card(session, statement_day=3)
        idle = await add_card(session, statement_day=3)
        await book(session, small.id, [("purchase", "0.05", "2026-05-01T10:00:00+08:00")])
        await book(
            session,
            overpaid.id,
            [
                ("purchase", "100.00", "2026-05-01T10:00:00+08:00"),
                ("repayment", "150.00", "2026-05-02T10:00:00+08:00"),
            ],
        )
        await session.commit()
    await close(database, fresh_database.settings, "2026-05-03")
    [tiny] = await statements_of(database, small.id)
    [credit] = await statements_of(database, overpaid.id)
    [nothing] = await statements_of(database, idle.id)
    assert (tiny.balance_cents, tiny.minimum_payment_cents) == (5, 1)  # 0.5 fen rounds up
    assert (credit.balance_cents, credit.minimum_payment_cents) == (-5_000, 0)
    assert (nothing.balance_cents, nothing.minimum_payment_cents) == (0, 0)


async def test_the_whole_share_of_a_balance_is_at_most_the_balance(
    fresh_database: FreshDatabase, database: Database
) -> None:
    settings = fresh_database.settings.model_copy(
        update={"statement_minimum_payment_basis_points": 10_000}
    )
    async with database.session() as session:
        card = await add_card(session, statement_day=7)
        await book(session, card.id, [("purchase", "33.33", "2026-05-01T10:00:00+08:00")])
        await session.commit()
    await close(database, settings, "2026-05-07")
    [bill] = await statements_of(database, card.id)
    assert bill.minimum_payment_cents == bill.balance_cents == 3_333


async def test_closing_the_same_day_twice_writes_nothing_new(
    fresh_database: FreshDatabase, database: Database
) -> None:
    async with database.session() as session:
        card = await add_card(session, statement_day=9)
        other_day = await add_card(session, statement_day=10)
        await book(session, card.id, [("purchase", "10.00", "2026-05-01T10:00:00+08:00")])
        await session.commit()
    first = await close(database, fresh_database.settings, "2026-05-09")
    again = await close(database, fresh_database.settings, "2026-05-09")
    assert (first.closed, again.closed) == (1, 0)
    assert len(await statements_of(database, card.id)) == 1
    assert await statements_of(database, other_day.id) == []


async def test_a_close_runs_the_same_statements_for_many_cards_as_for_few(
    fresh_database: FreshDatabase, database: Database
) -> None:
    """Set-based: no statement per card."""
    counts = []
    for day, cards in ((11, 2), (12, 40)):
        async with database.session() as session:
            for _ in range(cards):
                card = await add_card(session, statement_day=day)
                await book(session, card.id, [("purchase", "10.00", "2026-05-01T10:00:00+08:00")])
            await session.commit()
        async with counting_statements() as counted:
            summary = await close(database, fresh_database.settings, f"2026-05-{day}")
        assert summary.closed == cards
        counts.append(counted.value)
    assert counts[0] == counts[1]
    assert counts[0] <= 8
