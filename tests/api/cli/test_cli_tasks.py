"""``cardcrm tasks generate`` and ``cardcrm customers index-birthdays`` as subprocesses on a
database of the test's own: generation prints its counts per kind, is idempotent and is one
audit entry a run; the birthday index is written with the birth date and back-filled."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from models.audit.audit import AuditEntry
from models.customers.customer import Customer
from models.customers.identifiers import BIRTHDAY_INDEX
from models.tasks.task import StaffTask
from resolvers.customers.records import new_customer_rows
from resolvers.tasks.generation import GENERATE_ACTION
from tests.models.conftest import FreshDatabase
from tests.resolvers.tasks.support import customer, resolved_complaint, task_world, turned
from tests.support import numbered_customer

pytestmark = pytest.mark.slow
DAY = date(2026, 6, 15)


async def test_generate_prints_counts_per_kind_once_and_audits_each_run(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            world = await task_world(session)
            at_risk = await customer(session, ring, world.branch, world.standard, stage="at_risk")
            await turned(session, at_risk, "at_risk", DAY, ["inactive"])
            await customer(
                session,
                ring,
                world.branch,
                world.standard,
                birthday=date(1991, 6, 15),
                consent_push=True,
            )
            row = await customer(session, ring, world.empty_branch, world.standard)
            await resolved_complaint(session, row, DAY - timedelta(days=1))
            await session.commit()

        first = await fresh_database.run_cli("tasks", "generate", "--as-of", DAY.isoformat())
        again = await fresh_database.run_cli("tasks", "generate", "--as-of", DAY.isoformat())
        bad = await fresh_database.run_cli("tasks", "generate", "--as-of", "15/06/2026")

        async with database.session() as session:
            tasks = list(await session.scalars(select(StaffTask)))
            entries = list(
                await session.scalars(
                    select(AuditEntry).where(col(AuditEntry.action) == GENERATE_ACTION)
                )
            )
    assert first.returncode == again.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "generated 3 staff tasks as of 2026-06-15"
    assert "  retention: 1" in lines
    assert "  birthday_care: 1" in lines
    assert "  complaint_follow_up: 1" in lines
    assert "  holiday_care: 0" in lines
    assert lines[-1] == "assigned 2; 1 open tasks without an agent"
    assert again.stdout.splitlines()[0] == "generated 0 staff tasks as of 2026-06-15"
    assert bad.returncode == 1
    assert "not an ISO date" in bad.stdout + bad.stderr
    assert len(tasks) == 3
    assert [entry.details["created"]["retention"] for entry in entries] == [1, 0]


async def test_index_birthdays_fills_the_index_of_customers_sealed_before_it(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            world = await task_world(session)
            data = numbered_customer(7)
            row, _, customer_key = new_customer_rows(
                ring, data, branch_id=world.branch.id, tier_id=world.gold.id
            )
            session.add(customer_key)
            written = row.birthday_bidx
            session.add(row)
            await session.commit()
            await session.execute(
                update(Customer).where(col(Customer.id) == row.id).values(birthday_bidx=None)
            )
            await session.commit()

        result = await fresh_database.run_cli("customers", "index-birthdays", "--batch-size", "1")
        async with database.session() as session:
            indexed = await session.scalar(
                select(col(Customer.birthday_bidx)).where(col(Customer.id) == row.id)
            )
    expected = ring.blind_index(BIRTHDAY_INDEX, f"{data.birth_date:%m-%d}")
    assert written == expected
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "indexed the birthdays of 1 customers"
    assert indexed == expected
