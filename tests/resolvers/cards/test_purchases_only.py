"""Repayments and refunds are not spending: evaluation's figures and the active-customer count
read purchases only.

Given a customer whose card has one purchase and a large repayment and refund, and another
whose card has only a repayment, when the evaluation's aggregate and the analytics' active
count run, then the first's spend is the purchase alone and the second is neither spending
nor active.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from core.database import Database
from models.cards.card import Card
from resolvers.analytics.sql import active_customers
from resolvers.growth.evaluation_decision import aggregate_query
from resolvers.growth.lifecycle_rules import LifecycleRules
from tests.models.conftest import FreshDatabase
from tests.resolvers.cards.support_statements import add_card, book

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


async def test_evaluation_and_the_active_count_ignore_repayments_and_refunds(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        spender, payer = await _two_customers(database)
        rules = LifecycleRules.from_settings(fresh_database.settings)
        async with database.session() as session:
            rows = {row.id: row for row in await session.execute(aggregate_query(rules, AS_OF))}
            active = await session.scalar(
                active_customers(datetime(2026, 6, 1, tzinfo=UTC), AS_OF, None)
            )
    assert (rows[spender].frequency, rows[spender].monetary) == (1, 20_000)
    assert (rows[spender].annual_count, rows[spender].annual_spend) == (1, 20_000)
    assert rows[spender].spend_shopping == 20_000
    assert (rows[payer].frequency, rows[payer].monetary, rows[payer].last_at) == (0, 0, None)
    assert active == 1


async def _two_customers(database: Database) -> tuple[object, object]:
    async with database.session() as session:
        spending = await add_card(session)
        paying = await add_card(session)
        await book(
            session,
            spending.id,
            [
                ("purchase", "200.00", "2026-06-10T10:00:00+08:00"),
                ("repayment", "5000.00", "2026-06-11T10:00:00+08:00"),
                ("refund", "100.00", "2026-06-12T10:00:00+08:00"),
            ],
        )
        await book(session, paying.id, [("repayment", "900.00", "2026-06-11T10:00:00+08:00")])
        await session.commit()
        owners = {card.id: card.customer_id for card in await session.scalars(select(Card))}
    return owners[spending.id], owners[paying.id]
