"""``cardcrm evaluate`` as a subprocess on a database of the test's own: it prints what moved,
a second run moves nothing, each run is audited (and each committed batch, so an interrupted
run's changes are in the log), a date means its first instant in UTC, and a bad ``--as-of``
says how to fix it."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
from sqlalchemy import select, text
from sqlmodel import col

from models.audit.audit import AuditEntry
from models.customers.customer import Customer
from tests.models.conftest import CARDCRM, CLI_TIMEOUT_SECONDS, FreshDatabase
from tests.support_evaluation import add_spender, every, reference_ids

pytestmark = pytest.mark.slow

AS_OF = "2026-06-30T00:00:00Z"


async def _three_customers(fresh: FreshDatabase) -> None:
    """A prospect, an active diner, and a big traveller who qualifies for gold."""
    async with fresh.database() as database, database.session() as session:
        tiers, branches = await reference_ids(session)
        where = {"tier_id": tiers["standard"], "branch_id": branches["BJ-CY"]}
        await add_spender(session, joined_days_ago=200, **where)
        await add_spender(
            session,
            joined_days_ago=400,
            spending=every(7, count=10, from_days_ago=2, yuan=100),
            **where,
        )
        await add_spender(
            session,
            joined_days_ago=400,
            spending=every(4, count=60, from_days_ago=1, yuan=3_000, category="travel"),
            **where,
        )


async def test_evaluate_prints_the_changes_and_a_rerun_changes_nothing(
    fresh_database: FreshDatabase,
) -> None:
    seeded = await fresh_database.run_cli("seed", "--demo", "--customers", "0")
    assert seeded.returncode == 0, seeded.stderr
    await _three_customers(fresh_database)

    first = await fresh_database.run_cli("evaluate", "--as-of", AS_OF)
    again = await fresh_database.run_cli("evaluate", "--as-of", "2026-06-30")  # the same instant

    assert first.returncode == again.returncode == 0, first.stderr
    assert "evaluated 3 customers as of 2026-06-30T00:00:00+00:00" in first.stdout
    # 60 purchases of ¥3,000 every 4 days: 23 in the window (days 1..89), ¥180,000 a year
    assert "stage changes: prospect 1, active 2" in first.stdout
    assert "tiers: 1 upgrades, 0 downgrades, 0 kept by an override" in first.stdout
    assert "segment changes: 2" in first.stdout
    assert "evaluated 3 customers as of 2026-06-30T00:00:00+00:00" in again.stdout
    assert "stage changes: none" in again.stdout
    assert "tiers: 0 upgrades, 0 downgrades" in again.stdout
    async with fresh_database.database() as database, database.session() as session:
        entries = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "customers.evaluate")
            )
        ).all()
    assert [(e.actor_kind, e.actor_id, e.details["evaluated"]) for e in entries] == [
        ("system", "cardcrm-cli", 3),
        ("system", "cardcrm-cli", 3),
    ]
    verified = await fresh_database.run_cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout


@pytest.mark.parametrize(
    ("as_of", "says"),
    [
        ("2026-06-30T00:00:00", "--as-of needs a UTC offset"),
        ("yesterday", "is not an ISO date or time"),
    ],
)
async def test_a_bad_as_of_fails_with_how_to_fix_it(
    fresh_database: FreshDatabase, as_of: str, says: str
) -> None:
    done = await fresh_database.run_cli("evaluate", "--as-of", as_of)

    assert done.returncode == 1
    assert says in done.stderr


FAIL_FROM_THE_SECOND_BATCH = {
    "sqlite": (
        "CREATE TRIGGER fail_second_batch BEFORE INSERT ON customer_metrics "
        "WHEN (SELECT count(*) FROM customer_metrics) >= 1 "
        "BEGIN SELECT RAISE(ABORT, 'the disk is full'); END",
    ),
    "postgresql": (
        "CREATE FUNCTION fail_second_batch() RETURNS trigger AS $$ BEGIN "
        "IF (SELECT count(*) FROM customer_metrics) >= 1 THEN "
        "RAISE EXCEPTION 'the disk is full'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER fail_second_batch BEFORE INSERT ON customer_metrics "
        "FOR EACH ROW EXECUTE FUNCTION fail_second_batch()",
    ),
}


async def _sql(fresh: FreshDatabase, *statements: str) -> None:
    async with fresh.database() as database, database.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


def _evaluate_in_batches_of_one(fresh: FreshDatabase) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CARDCRM), "evaluate", "--as-of", AS_OF],
        env={**fresh.environment(), "CARDCRM_EVALUATION_BATCH_ROWS": "1"},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


async def _audited(fresh: FreshDatabase, action: str) -> list[AuditEntry]:
    async with fresh.database() as database, database.session() as session:
        return list(
            (
                await session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.action == action)
                    .order_by(col(AuditEntry.seq))
                )
            ).all()
        )


async def test_an_interrupted_evaluation_leaves_its_committed_batch_audited(
    fresh_database: FreshDatabase,
) -> None:
    """The database refuses the second batch (a full disk, played by a trigger): the first
    batch stays committed, and so does its audit entry; the re-run audits the rest."""
    seeded = await fresh_database.run_cli("seed", "--demo", "--customers", "0")
    assert seeded.returncode == 0, seeded.stderr
    await _three_customers(fresh_database)
    backend = "sqlite" if fresh_database.is_sqlite else "postgresql"
    await _sql(fresh_database, *FAIL_FROM_THE_SECOND_BATCH[backend])

    interrupted = await asyncio.to_thread(_evaluate_in_batches_of_one, fresh_database)

    assert interrupted.returncode != 0
    (batch,) = await _audited(fresh_database, "customers.evaluate.batch")
    async with fresh_database.database() as database, database.session() as session:
        changed = (await session.scalars(select(Customer.id).where(Customer.version > 1))).all()
    assert batch.details["customers"] == [str(customer) for customer in changed]
    assert (batch.actor_kind, batch.actor_id, batch.details["evaluated"]) == (
        "system",
        "cardcrm-cli",
        1,
    )
    assert batch.fields
    assert set(batch.fields) <= {"lifecycle_stage", "segments", "tier"}
    assert await _audited(fresh_database, "customers.evaluate") == []  # no summary: it broke

    await _sql(
        fresh_database,
        "DROP TRIGGER fail_second_batch"
        + (" ON customer_metrics" if backend == "postgresql" else ""),
    )
    rerun = await asyncio.to_thread(_evaluate_in_batches_of_one, fresh_database)

    assert rerun.returncode == 0, rerun.stderr
    batches = await _audited(fresh_database, "customers.evaluate.batch")
    named = [customer for entry in batches for customer in entry.details["customers"]]
    assert len(batches) == 3
    assert sorted(named) == sorted(set(named))  # each customer's change audited once
    verified = await fresh_database.run_cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr
