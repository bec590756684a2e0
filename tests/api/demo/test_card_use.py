"""The seeded demo's card book (api/demo/card_use.py) on a database of the test's own: cards
in varied states (one lost with its replacement, a few frozen, their history), a year of
purchases and repayments booked through the import, the frozen cards' later attempts
refused, and the last months' statements closed, with a few cards in M1 or later."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from api.demo.card_use import CardUse, statement_days
from api.demo.seed import seed_demo
from models.cards.card import Card, CardStatus
from models.cards.history import CardEvent
from models.cards.statement import OverdueBucket, Statement
from models.transactions.transaction import Transaction, TransactionKind
from tests.models.conftest import FreshDatabase

pytestmark = pytest.mark.slow

END = datetime(2026, 6, 1, tzinfo=UTC)
CUSTOMERS = 120


def test_the_statement_days_are_the_last_months_ended_days() -> None:
    days = statement_days(END, 2)
    assert days[0].isoformat() == "2026-03-30"  # a month before April 30
    assert days[-1].isoformat() == "2026-05-31"
    assert len(days) == len(set(days)) == 63


async def test_the_seeded_demo_has_a_card_book_with_bills_and_late_payers(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            result = await seed_demo(
                session, ring, customers=CUSTOMERS, seed=11, card_use=CardUse(END)
            )
        async with database.session() as session:
            cards = list(await session.scalars(select(Card)))
            kinds = Counter(
                dict(
                    (
                        await session.execute(
                            select(col(Transaction.kind), func.count()).group_by(
                                col(Transaction.kind)
                            )
                        )
                    ).all()
                )
            )
            currencies = set(await session.scalars(select(col(Transaction.currency)).distinct()))
            statements = list(await session.scalars(select(Statement)))
            events = Counter(await session.scalars(select(col(CardEvent.action))))

    booked = result.card_use
    assert booked is not None
    assert booked.transactions == sum(kinds.values())
    assert kinds[TransactionKind.REPAYMENT] > 0 < kinds[TransactionKind.PURCHASE]
    assert "USD" in currencies
    # The frozen cards' attempts after they were stopped are refused, as an import refuses them.
    assert booked.refused >= 1

    statuses = Counter(card.status for card in cards)
    assert statuses[CardStatus.ACTIVATED] > len(cards) / 2
    assert statuses[CardStatus.ISSUED] > 0
    assert 1 <= statuses[CardStatus.FROZEN] < len(cards) / 10
    assert statuses[CardStatus.BLOCKED] == 1
    lost = next(card for card in cards if card.status == CardStatus.BLOCKED)
    replacement = next(card for card in cards if card.id == lost.replaced_by_id)
    assert replacement.replaces_id == lost.id
    assert replacement.status == CardStatus.ACTIVATED
    assert events["freeze"] == statuses[CardStatus.FROZEN]
    assert events["report_lost"] == 1

    assert booked.statements == len(statements) > 0
    assert {s.cycle_end for s in statements} <= set(statement_days(END, 4))
    assert any(s.paid_by_due is False for s in statements)
    assert any(s.repayments_cents > 0 for s in statements)
    late = [card for card in cards if card.overdue_bucket != OverdueBucket.CURRENT]
    assert all(card.days_past_due > 0 for card in late)
    assert 1 <= len(late) < len(cards) / 8
