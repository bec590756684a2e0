"""``cardcrm risk scan`` as a subprocess on a database of the test's own: it raises the
alerts for purchases booked without the rules (a backfill), only inside the range, never twice,
and audits each run with its counts; a bad ``--since`` says how to fix it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import col

from api.cli.risk import SCAN_ACTION
from models.audit.audit import AuditEntry
from models.risk.alert import AlertRule, RiskAlert
from tests.models.conftest import FreshDatabase
from tests.resolvers.cards.support_statements import add_card, book

pytestmark = pytest.mark.slow


async def test_scan_backfills_the_range_once_and_audits_each_run(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        async with database.session() as session:
            inside = await add_card(session)
            before = await add_card(session)
            burst = [("purchase", "50.00", f"2026-05-01T12:0{i}:00+08:00") for i in range(6)]
            await book(session, inside.id, burst)
            early = [("purchase", "50.00", f"2026-03-01T12:0{i}:00+08:00") for i in range(6)]
            await book(session, before.id, early)
            await session.commit()

        first = await fresh_database.run_cli("risk", "scan", "--since", "2026-04-01")
        again = await fresh_database.run_cli(
            "risk", "scan", "--since", "2026-04-01T00:00:00+08:00", "--until", "2026-06-01"
        )

        assert first.returncode == again.returncode == 0, first.stderr
        assert first.stdout.strip() == "checked 6 purchases in 1 chunks: 1 new alerts"
        assert again.stdout.strip() == "checked 6 purchases in 1 chunks: 0 new alerts"
        async with database.session() as session:
            alerts = list(await session.scalars(select(RiskAlert)))
            entries = list(
                await session.scalars(
                    select(AuditEntry)
                    .where(col(AuditEntry.action) == SCAN_ACTION)
                    .order_by(col(AuditEntry.seq))
                )
            )
    assert [(a.rule, a.card_id) for a in alerts] == [(AlertRule.VELOCITY, inside.id)]
    assert [(e.details["checked"], e.details["raised"]) for e in entries] == [(6, 1), (6, 0)]


async def test_a_bad_since_is_refused_with_an_example(fresh_database: FreshDatabase) -> None:
    result = await fresh_database.run_cli("risk", "scan", "--since", "01/05/2026")
    assert result.returncode == 1
    assert "is not an ISO date or time, e.g. 2026-05-01" in result.stderr
