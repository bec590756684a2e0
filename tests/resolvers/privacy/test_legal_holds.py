"""The legal holds on erasing a customer, for a set of customers in one statement: an open
card, or one owing or in credit, is OPEN_BALANCE, an open complaint or risk alert OPEN_DISPUTE, and a
relationship that has not ended, or ended less than the retention period ago,
RETENTION_PERIOD; a customer who never had a card has no retention hold."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from core.database import counting_statements
from models.columns import utcnow
from models.growth.tier import Tier
from resolvers.privacy.legal_holds import holds_of, years_before
from tests.conftest import Server
from tests.resolvers.privacy.support_erasure import (
    add_customer,
    book,
    close_card,
    file_open_complaint,
)
from tests.support import World
from tests.support_alerts import add_alert

PAID = [
    ("purchase", "300.00", "2024-01-10T09:00:00+08:00"),
    ("repayment", "300.00", "2024-02-01T09:00:00+08:00"),
]
OWED = [("purchase", "88.00", "2024-01-10T09:00:00+08:00")]
OVERPAID = [
    ("purchase", "100.00", "2024-01-10T09:00:00+08:00"),
    ("repayment", "150.00", "2024-02-01T09:00:00+08:00"),
]


def _seed() -> int:
    return uuid.uuid4().int % 10**9


async def test_each_customer_gets_the_holds_that_apply_in_one_statement(
    server: Server, world: World
) -> None:
    db, ring = server.state.database, server.state.key_ring
    async with db.session() as session:
        tier = (await session.scalars(select(Tier).where(Tier.code == "standard"))).one()
    branch = world.branches["BJ-CY"].id
    where = (branch, tier.id)
    # Given customers in every situation,
    cardless = await add_customer(db, ring, where, seed=_seed(), card=False)
    active = await add_customer(db, ring, where, seed=_seed())
    settled = await add_customer(db, ring, where, seed=_seed())
    await book(db, ring, settled.card_ids[0], PAID)
    owing = await add_customer(db, ring, where, seed=_seed())
    await book(db, ring, owing.card_ids[0], OWED)
    in_credit = await add_customer(db, ring, where, seed=_seed())
    await book(db, ring, in_credit.card_ids[0], OVERPAID)
    complaining = await add_customer(db, ring, where, seed=_seed())
    alerted = await add_customer(db, ring, where, seed=_seed())
    for built in (settled, owing, in_credit, complaining, alerted):
        await close_card(db, ring, built.card_ids[0])
    await file_open_complaint(db, ring, server.state.settings, complaining, branch)
    await add_alert(server.state, alerted.id)
    everyone = [cardless, active, settled, owing, in_credit, complaining, alerted]
    ids = [built.id for built in everyone]

    # when the holds are computed now and six years on,
    now = utcnow()
    later = now.replace(year=now.year + 6)
    async with db.session() as session:
        async with counting_statements() as counted:
            today = await holds_of(session, ids, retention_years=5, now=now)
        in_six_years = await holds_of(session, ids, retention_years=5, now=later)

    # then each has the holds that apply, all from one statement.
    assert counted.value == 1
    names = ["cardless", "active", "settled", "owing", "in_credit", "complaining", "alerted"]
    assert {name: today[b.id] for name, b in zip(names, everyone, strict=True)} == {
        "cardless": [],
        "active": ["OPEN_BALANCE", "RETENTION_PERIOD"],
        "settled": ["RETENTION_PERIOD"],
        "owing": ["OPEN_BALANCE", "RETENTION_PERIOD"],
        "in_credit": ["OPEN_BALANCE", "RETENTION_PERIOD"],
        "complaining": ["OPEN_DISPUTE", "RETENTION_PERIOD"],
        "alerted": ["OPEN_DISPUTE", "RETENTION_PERIOD"],
    }
    assert {name: in_six_years[b.id] for name, b in zip(names, everyone, strict=True)} == {
        "cardless": [],
        "active": ["OPEN_BALANCE", "RETENTION_PERIOD"],  # the relationship has not ended
        "settled": [],
        "owing": ["OPEN_BALANCE"],
        "in_credit": ["OPEN_BALANCE"],  # the bank owes them the difference
        "complaining": ["OPEN_DISPUTE"],
        "alerted": ["OPEN_DISPUTE"],
    }


def test_years_before_keeps_the_instant_and_moves_29_february_to_the_28th() -> None:
    assert years_before(datetime(2030, 6, 1, 8, tzinfo=UTC), 5) == datetime(
        2025, 6, 1, 8, tzinfo=UTC
    )
    assert years_before(datetime(2028, 2, 29, tzinfo=UTC), 5) == datetime(2023, 2, 28, tzinfo=UTC)
