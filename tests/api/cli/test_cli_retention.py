"""``cardcrm retention run`` as a subprocess on a database of the test's own: a closed, settled
relationship is erased once the retention period (5 years by default) has passed since it
ended, not before; a customer who still owes, or has a complaint open, is kept; a customer
who never had a card counts from their creation; each erasure is audited with the system as
the actor; a second run erases nothing more; and the audit chain still verifies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from models.audit.audit import AuditEntry
from models.customers.customer import Customer
from tests.models.conftest import FreshDatabase
from tests.resolvers.privacy.support_erasure import (
    add_customer,
    book,
    branch_and_tier,
    close_card,
    file_open_complaint,
)

pytestmark = pytest.mark.slow


def _in_years(years: int) -> str:
    today = datetime.now(UTC).date()
    return today.replace(year=today.year + years).isoformat()


async def test_retention_erases_old_closed_relationships_once_and_keeps_the_others(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        where = await branch_and_tier(database)
        # Given a customer whose card was used, repaid in full and closed,
        settled = await add_customer(database, ring, where, seed=1)
        await book(
            database,
            ring,
            settled.card_ids[0],
            [
                ("purchase", "300.00", "2024-01-10T09:00:00+08:00"),
                ("repayment", "300.00", "2024-02-01T09:00:00+08:00"),
            ],
        )
        await close_card(database, ring, settled.card_ids[0])
        # one who still owes on a closed card, one with an active card, one with a
        # complaint open on a closed card, and one who never had a card,
        owing = await add_customer(database, ring, where, seed=2)
        await book(
            database, ring, owing.card_ids[0], [("purchase", "88.00", "2024-01-10T09:00:00+08:00")]
        )
        await close_card(database, ring, owing.card_ids[0])
        active = await add_customer(database, ring, where, seed=3)
        disputing = await add_customer(database, ring, where, seed=4)
        await close_card(database, ring, disputing.card_ids[0])
        await file_open_complaint(database, ring, fresh_database.settings, disputing, where[0])
        cardless = await add_customer(database, ring, where, seed=5, card=False)

        # when the job runs 3 years on, then 6 years on, twice,
        early = await fresh_database.run_cli("retention", "run", "--as-of", _in_years(3))
        late = await fresh_database.run_cli("retention", "run", "--as-of", _in_years(6))
        again = await fresh_database.run_cli("retention", "run", "--as-of", _in_years(6))
        verified = await fresh_database.run_cli("audit", "verify")
        # (the blind-index backfills pass a tombstone by)
        for backfill in ("index-names", "index-birthdays"):
            indexed = await fresh_database.run_cli("customers", backfill)
            assert indexed.returncode == 0, indexed.stderr

        # then nothing is erased within the period, the settled and the cardless after it,
        assert early.returncode == late.returncode == again.returncode == 0, late.stderr
        assert early.stdout.startswith("erased 0 customers past the retention period")
        assert late.stdout.startswith("erased 2 customers past the retention period")
        assert again.stdout.startswith("erased 0 customers")
        async with database.session() as session:
            erased = set(
                await session.scalars(
                    select(col(Customer.id)).where(col(Customer.erased_at).is_not(None))
                )
            )
            tombstone = await session.get(Customer, settled.id)
            entries = list(
                await session.scalars(
                    select(AuditEntry).where(col(AuditEntry.action) == "customer.erased")
                )
            )
            runs = await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(col(AuditEntry.action) == "privacy.retention_run")
            )
        assert erased == {settled.id, cardless.id}
        assert {owing.id, active.id, disputing.id}.isdisjoint(erased)
        assert tombstone is not None
        assert (tombstone.name_enc, tombstone.phone_bidx) == (None, None)
        assert (tombstone.name_bidx, tombstone.birthday_bidx) == (None, None)
        assert (tombstone.consent_sms, tombstone.consent_email) == (False, False)
        # each erasure audited, the system acting; and the chain still verifies.
        assert {entry.target_id for entry in entries} == {str(settled.id), str(cardless.id)}
        assert {(entry.actor_kind, entry.actor_id) for entry in entries} == {
            ("system", "cardcrm-cli")
        }
        assert runs == 3
        assert verified.returncode == 0, verified.stdout + verified.stderr


async def test_a_bad_date_is_refused_with_an_example(fresh_database: FreshDatabase) -> None:
    result = await fresh_database.run_cli("retention", "run", "--as-of", "15/01/2026")
    assert result.returncode == 1
    assert "is not an ISO date or time, e.g. 2025-06-30" in result.stderr
