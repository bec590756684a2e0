"""``cardcrm collections sweep`` and ``collections remind`` as subprocesses on a database of
the test's own: each prints a one-line summary, is idempotent, and is one audit entry."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from models.audit.audit import AuditEntry
from models.collections.case import CollectionCase
from models.collections.reminder import RepaymentReminder
from models.customers.customer import Customer
from resolvers.collections.reminders import REMIND_ACTION
from resolvers.collections.sync import SWEEP_ACTION
from tests.models.conftest import FreshDatabase
from tests.resolvers.cards.support_statements import add_card, book, close

pytestmark = pytest.mark.slow


async def test_sweep_reopens_a_broken_promise_once_and_audits_each_run(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        async with database.session() as session:
            card = await add_card(session, statement_day=15)
            await book(session, card.id, [("purchase", "300.00", "2026-01-10T09:00:00+08:00")])
            await session.commit()
        await close(database, fresh_database.settings, "2026-01-15")
        await close(database, fresh_database.settings, "2026-02-15")  # 11 days past due

        opened = await fresh_database.run_cli("collections", "sweep", "--as-of", "2026-02-15")
        async with database.session() as session:
            await session.execute(
                update(CollectionCase)
                .where(col(CollectionCase.card_id) == card.id)
                .values(
                    status="promised", promise_amount_cents=3_000, promise_date=date(2026, 2, 18)
                )
            )
            await session.commit()
        broken = await fresh_database.run_cli("collections", "sweep", "--as-of", "2026-02-19")
        again = await fresh_database.run_cli("collections", "sweep", "--as-of", "2026-02-19")

        assert opened.returncode == broken.returncode == again.returncode == 0, opened.stderr
        assert opened.stdout.strip() == (
            "collection cases: 1 opened, 0 updated, 0 cured, 0 closed with their card, "
            "0 broken promises reopened"
        )
        assert "1 broken promises reopened" in broken.stdout
        assert "0 broken promises reopened" in again.stdout
        async with database.session() as session:
            [case] = list(await session.scalars(select(CollectionCase)))
            entries = list(
                await session.scalars(
                    select(AuditEntry)
                    .where(col(AuditEntry.action) == SWEEP_ACTION)
                    .order_by(col(AuditEntry.created_at))
                )
            )
    assert (case.status, case.broken_promises) == ("open", 1)
    assert [e.details["promises_broken"] for e in entries] == [0, 1, 0]
    assert [e.details["as_of"] for e in entries] == ["2026-02-15", "2026-02-19", "2026-02-19"]


async def test_remind_plans_once_for_the_consenting_and_audits(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        async with database.session() as session:
            card = await add_card(session, statement_day=15)
            await add_card(session, statement_day=15)  # its customer consents to nothing
            await session.execute(
                update(Customer)
                .where(col(Customer.id) == card.customer_id)
                .values(risk_grade="B", consent_push=True)
            )
            for each in (card,):
                await book(session, each.id, [("purchase", "300.00", "2026-01-10T09:00:00+08:00")])
            await session.commit()
        await close(database, fresh_database.settings, "2026-01-15")  # due Feb 4

        first = await fresh_database.run_cli("collections", "remind", "--as-of", "2026-02-01")
        again = await fresh_database.run_cli("collections", "remind", "--as-of", "2026-02-01")
        bad = await fresh_database.run_cli("collections", "remind", "--as-of", "1/2/2026")

        assert first.returncode == again.returncode == 0, first.stderr
        assert first.stdout.strip() == (
            "planned 1 repayment reminders as of 2026-02-01; cancelled 0 (paid)"
        )
        assert again.stdout.startswith("planned 0 repayment reminders")
        assert bad.returncode == 1
        async with database.session() as session:
            [reminder] = list(await session.scalars(select(RepaymentReminder)))
            entries = list(
                await session.scalars(
                    select(AuditEntry).where(col(AuditEntry.action) == REMIND_ACTION)
                )
            )
    assert (reminder.card_id, reminder.channel, reminder.risk_grade) == (card.id, "push", "B")
    assert (reminder.due_date, reminder.minimum_payment_cents) == (date(2026, 2, 4), 3_000)
    assert sorted(e.details["reminders_planned"] for e in entries) == [0, 1]
