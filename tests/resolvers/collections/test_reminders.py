"""Repayment reminders: planned by risk grade for consenting customers, once, and cancelled
once the minimum is paid.

Given cards billed on Jan 15 (minimum 100, due Feb 4) whose customers have grades A, C and D
and consent to some channel (and one who consents to none), when ``remind`` runs on Jan 28
(7 days before), Feb 1 (3) and Feb 3 (1), then C and D are reminded 7 days before, A, C and D
3 days before, D alone 1 day before; on their preferred channel if they consented to it, else
the first consented; planning a day twice writes nothing; a paid minimum cancels and stops
them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from core.database import Database
from models.cards.card import Card
from models.collections.reminder import RepaymentReminder
from models.customers.customer import Customer
from resolvers.collections.reminders import remind
from tests.models.conftest import FreshDatabase
from tests.resolvers.cards.support_statements import add_card, book, close


@pytest.fixture
async def database(fresh_database: FreshDatabase) -> AsyncIterator[Database]:
    async with fresh_database.database() as database:
        yield database


async def _card(database: Database, grade: str, **consent: Any) -> Card:
    async with database.session() as session:
        card = await add_card(session, statement_day=15)
        await session.execute(
            update(Customer)
            .where(col(Customer.id) == card.customer_id)
            .values(risk_grade=grade, **consent)
        )
        await book(session, card.id, [("purchase", "1000.00", "2026-01-03T10:00:00+08:00")])
        await session.commit()
    return card


async def _remind(fresh_database: FreshDatabase, database: Database, day: str) -> tuple[int, int]:
    async with database.session() as session:
        summary = await remind(session, fresh_database.settings, date.fromisoformat(day))
        await session.commit()
    return summary.planned, summary.cancelled


async def _reminders(database: Database) -> dict[tuple[uuid.UUID, date], tuple[str, str]]:
    async with database.session() as session:
        rows = await session.scalars(select(RepaymentReminder))
        return {(r.card_id, r.remind_on): (r.channel, r.status) for r in rows}


async def test_reminders_follow_the_grade_and_the_consented_channel_once(
    fresh_database: FreshDatabase, database: Database
) -> None:
    a = await _card(database, "A", consent_email=True, preferred_channel="email")
    c = await _card(database, "C", consent_push=True, consent_phone=True, preferred_channel="sms")
    d = await _card(database, "D", consent_sms=True, consent_email=True)
    silent = await _card(database, "E", preferred_channel="sms")  # consents to nothing
    await close(database, fresh_database.settings, "2026-01-15")

    assert await _remind(fresh_database, database, "2026-01-28") == (2, 0)
    assert await _remind(fresh_database, database, "2026-02-01") == (3, 0)
    assert await _remind(fresh_database, database, "2026-02-01") == (0, 0)  # idempotent
    assert await _remind(fresh_database, database, "2026-02-03") == (1, 0)
    assert await _remind(fresh_database, database, "2026-02-02") == (0, 0)  # no grade's day

    day = date.fromisoformat
    assert await _reminders(database) == {
        (c.id, day("2026-01-28")): ("push", "planned"),  # sms preferred, not consented
        (d.id, day("2026-01-28")): ("sms", "planned"),
        (a.id, day("2026-02-01")): ("email", "planned"),
        (c.id, day("2026-02-01")): ("push", "planned"),
        (d.id, day("2026-02-01")): ("sms", "planned"),
        (d.id, day("2026-02-03")): ("sms", "planned"),
    }
    assert not any(card == silent.id for card, _ in await _reminders(database))


async def test_a_paid_minimum_cancels_the_planned_reminders_and_plans_no_more(
    fresh_database: FreshDatabase, database: Database
) -> None:
    paid = await _card(database, "D", consent_sms=True)
    unpaid = await _card(database, "D", consent_sms=True)
    await close(database, fresh_database.settings, "2026-01-15")
    assert await _remind(fresh_database, database, "2026-01-28") == (2, 0)
    async with database.session() as session:
        await book(session, paid.id, [("repayment", "100.00", "2026-01-29T10:00:00+08:00")])
        await book(session, unpaid.id, [("repayment", "99.99", "2026-01-29T10:00:00+08:00")])
        await session.commit()

    assert await _remind(fresh_database, database, "2026-02-01") == (1, 1)
    reminders = await _reminders(database)
    day = date.fromisoformat
    assert reminders[(paid.id, day("2026-01-28"))] == ("sms", "cancelled")
    assert (paid.id, day("2026-02-01")) not in reminders
    assert reminders[(unpaid.id, day("2026-02-01"))] == ("sms", "planned")


async def test_an_imported_repayment_of_the_minimum_cancels_the_planned_reminders_at_once(
    fresh_database: FreshDatabase, database: Database
) -> None:
    from tests.resolvers.collections.support import import_repayment

    card = await _card(database, "E", consent_phone=True)
    await close(database, fresh_database.settings, "2026-01-15")
    assert await _remind(fresh_database, database, "2026-01-28") == (1, 0)
    ring = await fresh_database.key_ring(database)
    await import_repayment(database, ring, fresh_database.settings, card.id, "100.00")
    assert await _reminders(database) == {
        (card.id, date.fromisoformat("2026-01-28")): ("phone", "cancelled")
    }


@pytest.mark.parametrize("days", [{"Z": [3]}, {"A": [0]}, {"D": [7, -1]}])
def test_reminder_days_name_grades_a_to_e_and_days_ahead(days: dict[str, list[int]]) -> None:
    from pydantic import ValidationError

    from core.settings import Settings

    with pytest.raises(ValidationError):
        Settings(repayment_reminder_days=days)
