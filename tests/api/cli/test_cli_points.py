"""``cardcrm points expire`` as a subprocess on a database of the test's own: it prints how
many customers lost points, a second run of the day posts nothing, each run is one audit
entry, and a bad ``--as-of`` says how to fix it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlmodel import col

from models.audit.audit import AuditEntry
from models.loyalty.ledger import PointsEntry, PointsKind
from resolvers.loyalty.expiry import EXPIRE_ACTION
from tests.models.conftest import FreshDatabase
from tests.resolvers.cards.support_statements import add_card

pytestmark = pytest.mark.slow


async def test_expire_posts_once_per_day_and_audits_each_run(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        async with database.session() as session:
            card = await add_card(session)
            session.add(
                PointsEntry(
                    customer_id=card.customer_id,
                    card_id=card.id,
                    kind=PointsKind.EARN.value,
                    points=120,
                    occurred_at=datetime(2023, 5, 1, tzinfo=UTC),
                    expires_at=datetime(2025, 12, 31, 16, tzinfo=UTC),
                    natural_key="earn:test",
                )
            )
            await session.commit()

        first = await fresh_database.run_cli("points", "expire", "--as-of", "2026-01-01")
        again = await fresh_database.run_cli("points", "expire", "--as-of", "2026-01-01")
        assert first.returncode == again.returncode == 0, first.stderr
        assert first.stdout.strip() == "points expired for 1 customers as of 2026-01-01"
        assert again.stdout.strip() == "points expired for 0 customers as of 2026-01-01"
        async with database.session() as session:
            expired = list(
                await session.scalars(
                    select(PointsEntry.points).where(
                        col(PointsEntry.kind) == PointsKind.EXPIRE.value
                    )
                )
            )
            entries = list(
                await session.scalars(
                    select(AuditEntry)
                    .where(col(AuditEntry.action) == EXPIRE_ACTION)
                    .order_by(col(AuditEntry.created_at))
                )
            )
    assert expired == [-120]
    assert [entry.details["customers"] for entry in entries] == [1, 0]


async def test_a_bad_date_is_refused_with_an_example(fresh_database: FreshDatabase) -> None:
    result = await fresh_database.run_cli("points", "expire", "--as-of", "01/01/2026")
    assert result.returncode == 1
    assert "2026-06-15" in result.stderr + result.stdout
