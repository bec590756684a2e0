"""``cardcrm statements close`` as a subprocess on a database of the test's own: it prints a
one-line summary, closing the same day again writes nothing, each run is one audit entry
with its counts, and a bad ``--as-of`` says how to fix it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import col

from models.audit.audit import AuditEntry
from resolvers.cards.statements import CLOSE_ACTION
from tests.models.conftest import FreshDatabase
from tests.resolvers.cards.support_statements import add_card, book, standing, statements_of

pytestmark = pytest.mark.slow


async def test_close_prints_a_summary_is_idempotent_and_audits_each_run(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        async with database.session() as session:
            late = await add_card(session, statement_day=15)
            await add_card(session, statement_day=15)
            await add_card(session, statement_day=16)  # not today's
            await book(session, late.id, [("purchase", "300.00", "2026-01-10T09:00:00+08:00")])
            await session.commit()

        first = await fresh_database.run_cli("statements", "close", "--as-of", "2026-01-15")
        again = await fresh_database.run_cli("statements", "close", "--as-of", "2026-01-15")
        month = await fresh_database.run_cli("statements", "close", "--as-of", "2026-02-15")

        assert first.returncode == again.returncode == month.returncode == 0, first.stderr
        assert first.stdout.splitlines()[0] == (
            "closed 2 statements as of 2026-01-15; 0 due dates settled; 0 cards overdue (none)"
        )
        assert again.stdout.startswith("closed 0 statements as of 2026-01-15;")
        # The January bill (300, minimum 30, due Feb 4) went unpaid: 11 days late on Feb 15.
        assert month.stdout.splitlines() == [
            "closed 2 statements as of 2026-02-15; 2 due dates settled; 1 cards overdue (m1 1)",
            "collection cases: 1 opened, 0 updated, 0 cured, 0 closed with their card, "
            "0 broken promises reopened",
        ]
        assert len(await statements_of(database, late.id)) == 2
        assert await standing(database, late.id) == (11, "m1")
        async with database.session() as session:
            entries = list(
                await session.scalars(
                    select(AuditEntry)
                    .where(col(AuditEntry.action) == CLOSE_ACTION)
                    .order_by(col(AuditEntry.created_at))
                )
            )
    assert [entry.details["statements_closed"] for entry in entries] == [2, 0, 2]
    assert entries[-1].details["cards_overdue"] == {"m1": 1}
    assert [entry.details["cases_opened"] for entry in entries] == [0, 0, 1]
    assert {entry.actor_id for entry in entries} == {"cardcrm-cli"}


async def test_a_bad_date_is_refused_with_an_example(fresh_database: FreshDatabase) -> None:
    result = await fresh_database.run_cli("statements", "close", "--as-of", "15/01/2026")
    assert result.returncode == 1
    assert "is not an ISO date, e.g. 2026-06-15" in result.stderr
