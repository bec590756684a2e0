"""Collection cases follow the cards' standing, set-based.

Given a card billed 1,000 on Jan 15 (minimum 100, due Feb 4) and left unpaid, when the
statements close on Feb 15, then one case opens in M1 with the 100 overdue; as the card ages
the case follows it; a repayment import that covers what is overdue cures the card and closes
the case at once; a closed card closes its case; a promise whose date passes unkept reopens
the case, a kept one waits; and the sync is a constant number of statements.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest
from sqlalchemy import update
from sqlmodel import col

from core.database import Database, counting_statements
from models.cards.card import Card, CardStatus
from models.collections.case import CollectionCase, CollectionContact, ContactOutcome
from models.columns import utcnow
from models.customers.customer import Customer
from models.service_desk.interaction import Interaction, InteractionKind
from resolvers.batch_effects import batch_effect
from resolvers.transactions.ingest import write_batch
from resolvers.transactions.rows import RawRow, check_row
from tests.models.conftest import FreshDatabase
from tests.resolvers.cards.support_statements import add_card, book, close, standing
from tests.resolvers.collections.support import (
    cases_of,
    close_and_sync,
    import_repayment,
    overdue_card,
    overdue_cards,
    sweep_on,
)


@pytest.fixture
async def database(fresh_database: FreshDatabase) -> AsyncIterator[Database]:
    async with fresh_database.database() as database:
        yield database


async def test_a_card_past_due_opens_one_case_with_its_standing_and_what_is_overdue(
    fresh_database: FreshDatabase, database: Database
) -> None:
    card = await overdue_card(database, fresh_database.settings)
    [case] = await cases_of(database, card.id)
    async with database.session() as session:
        customer = await session.get(Customer, card.customer_id)
    assert customer is not None
    assert (case.status, case.bucket, case.opening_bucket) == ("open", "m1", "m1")
    assert (case.days_past_due, case.overdue_cents) == (11, 10_000)
    assert (case.customer_id, case.branch_id) == (card.customer_id, customer.branch_id)
    assert (case.broken_promises, case.version, case.closed_at) == (0, 1, None)

    again = await sweep_on(database, fresh_database.settings, "2026-02-15")
    assert (again.opened, again.updated) == (0, 0)
    assert len(await cases_of(database, card.id)) == 1


async def test_the_case_follows_the_card_as_it_ages(
    fresh_database: FreshDatabase, database: Database
) -> None:
    card = await overdue_card(database, fresh_database.settings)
    summary = await close_and_sync(database, fresh_database.settings, "2026-03-15")
    [case] = await cases_of(database, card.id)
    assert (summary.opened, summary.updated) == (0, 1)
    # Mar 15 − Feb 4; the February bill (minimum 100, due Mar 7) is missed too.
    assert (case.bucket, case.opening_bucket, case.days_past_due) == ("m2", "m1", 39)
    assert (case.overdue_cents, case.version) == (20_000, 2)


async def test_a_repayment_import_covering_what_is_overdue_cures_the_card_and_closes_the_case(
    fresh_database: FreshDatabase, database: Database
) -> None:
    settings = fresh_database.settings
    ring = await fresh_database.key_ring(database)
    cured, partial = await overdue_cards(database, settings, 2)

    await import_repayment(database, ring, settings, cured.id, "100.00")
    await import_repayment(database, ring, settings, partial.id, "40.00")

    assert await standing(database, cured.id) == (0, "current")
    [closed] = await cases_of(database, cured.id)
    assert (closed.status, closed.close_reason) == ("closed", "cured")
    assert closed.closed_at is not None
    [still] = await cases_of(database, partial.id)
    assert (still.status, still.overdue_cents) == ("open", 6_000)
    days, bucket = await standing(database, partial.id)
    assert days > 11  # as of today, long after February
    assert (still.days_past_due, still.bucket) == (days, bucket)


async def test_a_purchase_import_leaves_the_standing_and_the_case_alone(
    fresh_database: FreshDatabase, database: Database
) -> None:
    settings = fresh_database.settings
    ring = await fresh_database.key_ring(database)
    card = await overdue_card(database, settings)
    async with database.session() as session:
        await session.execute(update(Card).where(col(Card.id) == card.id).values(days_past_due=11))
        await session.commit()
    row = check_row(
        RawRow(
            1,
            {
                "card_id": str(card.id),
                "amount": "10.00",
                "merchant": "Shop",
                "merchant_category": "shopping",
                "channel": "pos",
                "time": utcnow().isoformat(),
            },
        ),
        now=utcnow(),
    )
    async with database.session() as session:
        await write_batch(session, ring, [row], batch_effect(settings))
        await session.commit()
    assert await standing(database, card.id) == (11, "m1")
    [case] = await cases_of(database, card.id)
    assert (case.days_past_due, case.version) == (11, 1)


async def test_a_closed_card_closes_its_case(
    fresh_database: FreshDatabase, database: Database
) -> None:
    card = await overdue_card(database, fresh_database.settings)
    async with database.session() as session:
        await session.execute(
            update(Card).where(col(Card.id) == card.id).values(status=CardStatus.CLOSED)
        )
        await session.commit()
    summary = await sweep_on(database, fresh_database.settings, "2026-02-16")
    [case] = await cases_of(database, card.id)
    assert summary.card_closed == 1
    assert (case.status, case.close_reason) == ("closed", "card_closed")
    # A closed card past due gets no new case.
    assert (await sweep_on(database, fresh_database.settings, "2026-02-17")).opened == 0


async def _promise(database: Database, card: Card, yuan: int, by: str, at: str) -> None:
    """The card's case PROMISED ``yuan`` by ``by``, the promise logged at ``at``."""
    async with database.session() as session:
        [case] = list(
            await session.scalars(
                CollectionCase.__table__.select().where(  # type: ignore[attr-defined]
                    CollectionCase.__table__.c.card_id == card.id  # type: ignore[attr-defined]
                )
            )
        )
        interaction = Interaction(
            customer_id=card.customer_id,
            kind=InteractionKind.COLLECTION,
            subject="Collection call",
            occurred_at=datetime.fromisoformat(at),
        )
        session.add(interaction)
        await session.flush()
        session.add(
            CollectionContact(
                case_id=case,
                customer_id=card.customer_id,
                interaction_id=interaction.id,
                outcome=ContactOutcome.PROMISE_TO_PAY,
                promise_amount_cents=yuan * 100,
                promise_date=date.fromisoformat(by),
                occurred_at=datetime.fromisoformat(at),
            )
        )
        await session.execute(
            update(CollectionCase)
            .where(col(CollectionCase.id) == case)
            .values(
                status="promised",
                promise_amount_cents=yuan * 100,
                promise_date=date.fromisoformat(by),
            )
        )
        await session.commit()


async def test_a_broken_promise_reopens_the_case_and_a_kept_one_waits(
    fresh_database: FreshDatabase, database: Database
) -> None:
    settings = fresh_database.settings
    broken, kept = await overdue_cards(database, settings, 2)
    for card in (broken, kept):
        await _promise(database, card, 100, "2026-02-20", "2026-02-16T10:00:00+08:00")
    async with database.session() as session:
        await book(session, kept.id, [("repayment", "100.00", "2026-02-20T23:59:00+08:00")])
        # Paid, but a day after the promised date: the promise is broken all the same.
        await book(session, broken.id, [("repayment", "100.00", "2026-02-21T00:01:00+08:00")])
        await session.commit()

    on_the_day = await sweep_on(database, settings, "2026-02-20")
    assert on_the_day.promises_broken == 0
    after = await sweep_on(database, settings, "2026-02-21")
    later = await sweep_on(database, settings, "2026-02-22")

    assert (after.promises_broken, later.promises_broken) == (1, 0)
    [reopened] = await cases_of(database, broken.id)
    assert (reopened.status, reopened.broken_promises) == ("open", 1)
    [waiting] = await cases_of(database, kept.id)
    assert (waiting.status, waiting.broken_promises) == ("promised", 0)


async def test_the_sync_is_a_constant_number_of_statements(
    fresh_database: FreshDatabase, database: Database
) -> None:
    settings = fresh_database.settings
    groups = {5: 1, 25: 6}  # the 25th's May bill is due after June 5
    async with database.session() as session:
        for day, cards in groups.items():
            for _ in range(cards):
                card = await add_card(session, statement_day=day)
                await book(session, card.id, [("purchase", "10.00", "2026-05-01T10:00:00+08:00")])
        await session.commit()
    for day in groups:
        await close(database, settings, f"2026-05-{day:02}")
    counts = []
    for day, cards in groups.items():
        await close(database, settings, f"2026-06-{day:02}")  # May's bill is missed
        async with counting_statements() as counted:
            summary = await sweep_on(database, settings, f"2026-06-{day:02}")
        assert summary.opened == cards
        counts.append(counted.value)
    assert counts[0] == counts[1]
    assert counts[0] <= 6
