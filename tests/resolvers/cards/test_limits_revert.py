"""``cardcrm limits revert`` as a subprocess on a database of the test's own: every temporary
limit whose last day is before ``--as-of`` ends, set-based, back to the limit before it (or
the card's lower current one, if risk lowered it meanwhile), with a history row each and one
audit entry with the counts; a limit whose last day is ``--as-of`` itself still holds, and a
second run ends nothing."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from api.demo.seed import seed_demo
from models.audit.audit import AuditEntry
from models.cards.card import Card
from models.cards.limits import CreditLimitChange, CreditLimitRequest, LimitRequestStatus
from models.columns import utcnow
from tests.models.conftest import FreshDatabase
from tests.support_evaluation import add_spender, reference_ids

pytestmark = pytest.mark.slow

AS_OF = date(2026, 7, 1)
BEFORE, TEMPORARY = 1_000_000, 1_500_000  # fen


async def _card_with_temporary_limit(
    fresh: FreshDatabase, *, until: date, current: int = TEMPORARY
) -> uuid.UUID:
    """A card whose approved temporary limit (¥10,000 → ¥15,000) lasts until ``until``;
    ``current``: the card's limit now (lower if risk decreased it meanwhile)."""
    async with fresh.database() as database, database.session() as session:
        tiers, branches = await reference_ids(session)
        customer_id = await add_spender(
            session, tier_id=tiers["standard"], branch_id=branches["BJ-CY"], joined_days_ago=100
        )
        card = (await session.scalars(select(Card).where(Card.customer_id == customer_id))).one()
        card.credit_limit_cents = current
        session.add(
            CreditLimitRequest(
                card_id=card.id,
                customer_id=customer_id,
                branch_id=branches["BJ-CY"],
                requester_id=str(customer_id),
                current_limit_cents=BEFORE,
                requested_limit_cents=TEMPORARY,
                temporary_until=until,
                status=LimitRequestStatus.APPROVED,
                decided_by="risk",
                decided_at=utcnow(),
                revert_to_cents=BEFORE,
            )
        )
        await session.commit()
        return card.id


async def test_revert_ends_the_temporary_limits_past_their_last_day(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            await seed_demo(session, ring, customers=0, seed=1)
    ended = await _card_with_temporary_limit(fresh_database, until=AS_OF - timedelta(days=1))
    holding = await _card_with_temporary_limit(fresh_database, until=AS_OF)
    lowered_meanwhile = await _card_with_temporary_limit(
        fresh_database, until=AS_OF - timedelta(days=5), current=800_000
    )

    first = await fresh_database.run_cli("limits", "revert", "--as-of", AS_OF.isoformat())
    again = await fresh_database.run_cli("limits", "revert", "--as-of", AS_OF.isoformat())

    assert first.returncode == again.returncode == 0, first.stderr
    assert "ended 2 temporary credit limits before 2026-07-01 (1 lowered" in first.stdout
    assert "ended 0 temporary credit limits" in again.stdout
    async with fresh_database.database() as database, database.session() as session:
        cards = {c.id: c for c in (await session.scalars(select(Card))).all()}
        assert (cards[ended].credit_limit_cents, cards[ended].version) == (BEFORE, 2)
        assert (cards[holding].credit_limit_cents, cards[holding].version) == (TEMPORARY, 1)
        assert cards[lowered_meanwhile].credit_limit_cents == 800_000
        history = (await session.scalars(select(CreditLimitChange))).all()
        assert sorted(
            (h.card_id == ended, h.kind, h.old_limit_cents, h.new_limit_cents, h.actor_kind)
            for h in history
        ) == [
            (False, "temporary_ended", 800_000, 800_000, "system"),
            (True, "temporary_ended", TEMPORARY, BEFORE, "system"),
        ]
        requests = (await session.scalars(select(CreditLimitRequest))).all()
        assert {r.card_id for r in requests if r.ended_at is not None} == {
            ended,
            lowered_meanwhile,
        }
        entries = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "card.limit_revert")
                .order_by(col(AuditEntry.seq))
            )
        ).all()
    assert [(e.actor_id, e.details["reverted"], e.details["lowered"]) for e in entries] == [
        ("cardcrm-cli", 2, 1),
        ("cardcrm-cli", 0, 0),
    ]
    verified = await fresh_database.run_cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout


async def test_a_bad_date_says_how_to_write_one(fresh_database: FreshDatabase) -> None:
    result = await fresh_database.run_cli("limits", "revert", "--as-of", "01/07/2026")
    assert result.returncode == 1
    assert "is not an ISO date, e.g. 2026-06-30" in result.stderr
