"""``python -m bench.statements`` at a small scale, on the backend the suite runs on: the data
has purchases and repayments over two cycles on cards spread over the statement days, the
spread closes bill only that day's cards, the worst case bills every card, and the second
close settles the first statements' due dates and finds the unpaid ones overdue."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import func, select

from bench.evaluation import throwaway_url
from bench.evaluation_data import Volume
from bench.statements import AS_OF, run_closes
from bench.statements_data import statement_date
from core.database import Database
from models.transactions.transaction import Transaction
from tests.support import postgres_admin_url

pytestmark = pytest.mark.slow

VOLUME = Volume(customers=600, cards=900, transactions=12_000)


def test_statement_dates_fall_on_the_card_day_before_as_of() -> None:
    assert statement_date(date(2026, 6, 15), 15, 0) == date(2026, 6, 15)
    assert statement_date(date(2026, 6, 15), 16, 0) == date(2026, 5, 16)
    assert statement_date(date(2026, 6, 15), 28, 1) == date(2026, 4, 28)
    assert statement_date(date(2026, 1, 10), 20, 1) == date(2025, 11, 20)


async def test_the_four_closes_bill_the_day_then_every_card() -> None:
    backend = os.environ.get("CARDCRM_TEST_DATABASE", "sqlite")
    admin = postgres_admin_url() if backend == "postgresql" else ""
    if admin is None:
        pytest.skip("PostgreSQL is not reachable")
    async with throwaway_url(backend, admin) as url:
        result = await run_closes(url, VOLUME)
        database = Database(url)
        try:
            async with database.session() as session:
                kinds = dict(
                    (
                        await session.execute(
                            select(Transaction.kind, func.count()).group_by(Transaction.kind)
                        )
                    ).all()
                )
        finally:
            await database.dispose()
    spread_first, spread_second, all_first, all_second = result.closes
    assert [c.label for c in result.closes] == [
        "spread, first",
        "spread, second",
        "all cards, first",
        "all cards, second",
    ]
    assert result.rows == VOLUME.customers + VOLUME.cards + kinds["purchase"] + kinds["repayment"]
    assert kinds["repayment"] > VOLUME.cards // 3
    assert (
        abs(kinds["purchase"] + kinds["repayment"] - VOLUME.transactions)
        < VOLUME.transactions // 10
    )
    # About 1/28 of the cards have AS_OF's statement day; both spread closes bill the same ones.
    assert 0 < spread_first.summary.closed == spread_second.summary.closed < VOLUME.cards // 10
    assert spread_first.summary.as_of.day == spread_second.summary.as_of.day == AS_OF.day
    assert spread_first.summary.settled == 0
    assert spread_second.summary.settled == spread_first.summary.closed
    # The first spread cycle's non-payers are overdue after the second close.
    assert sum(spread_second.summary.overdue.values()) > 0
    assert all_first.summary.closed == all_second.summary.closed == VOLUME.cards
    assert all_second.summary.settled == VOLUME.cards
    assert sum(all_second.summary.overdue.values()) > 0
    assert all(c.seconds > 0 for c in result.closes)
    # Each close lists its statements slowest first; the statements written are among them.
    for close in result.closes:
        assert close.statements == sorted(close.statements, reverse=True)
        assert any(sql.startswith("INSERT INTO statements") for _, sql in close.statements)
