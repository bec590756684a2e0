"""``cardcrm evaluate`` as a subprocess on a database of the test's own: it prints what moved,
a second run moves nothing, each run is audited, a date means its first instant in UTC, and a
bad ``--as-of`` says how to fix it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.audit import AuditEntry
from tests.models.conftest import FreshDatabase
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
