"""Cards with hand-made purchases, refunds and repayments on a fresh database, for the
statement tests: bare rows (no C2 values), which is all a statement close reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import Database
from core.settings import Settings
from models.cards.card import Card, CardStatus
from models.cards.statement import Statement
from models.customers.customer import Customer
from models.growth.tier import Tier
from models.organisation.organisation import Branch
from models.transactions.transaction import Transaction
from resolvers.cards.statements import CloseSummary, close_statements


async def add_card(
    session: AsyncSession,
    *,
    statement_day: int = 15,
    due_days: int = 20,
    limit_yuan: int = 10_000,
    customer_id: uuid.UUID | None = None,
) -> Card:
    """A card (and, unless given, a customer with a branch and tier of its own)."""
    if customer_id is None:
        suffix = uuid.uuid4().hex[:8]
        branch = Branch(code=f"b-{suffix}", name="Branch")
        tier = Tier(code=f"t-{suffix}", name="Tier", rank=uuid.uuid4().int % 1_000_000)
        session.add_all([branch, tier])
        await session.flush()
        customer = Customer(branch_id=branch.id, tier_id=tier.id)
        session.add(customer)
        await session.flush()
        customer_id = customer.id
    card = Card(
        customer_id=customer_id,
        product="UnionPay Classic",
        bin="622848",
        last4="0001",
        status=CardStatus.ACTIVATED,
        credit_limit_cents=limit_yuan * 100,
        statement_day=statement_day,
        due_days=due_days,
    )
    session.add(card)
    await session.flush()
    return card


async def book(
    session: AsyncSession, card_id: uuid.UUID, entries: Sequence[tuple[str, str, str]]
) -> None:
    """Transactions as (kind, yuan, ISO time with offset)."""
    await session.execute(
        insert(Transaction.__table__),  # type: ignore[attr-defined]
        [
            {
                "id": uuid.uuid4(),
                "card_id": card_id,
                "amount_cents": round(float(amount) * 100),
                "currency": "CNY",
                "merchant_name": "Shop" if kind != "repayment" else "Bank transfer",
                "merchant_category": "shopping" if kind != "repayment" else "other",
                "channel": "pos",
                "occurred_at": datetime.fromisoformat(when),
                "natural_key": f"test-{uuid.uuid4().hex}",
                "kind": kind,
                "created_at": datetime.fromisoformat(when),
            }
            for kind, amount, when in entries
        ],
    )


async def close(database: Database, settings: Settings, as_of: str) -> CloseSummary:
    async with database.session() as session:
        summary = await close_statements(
            session=session, settings=settings, as_of=date.fromisoformat(as_of)
        )
        await session.commit()
        return summary


async def statements_of(database: Database, card_id: uuid.UUID) -> list[Statement]:
    async with database.session() as session:
        rows = await session.scalars(
            select(Statement).where(Statement.card_id == card_id).order_by(Statement.cycle_end)
        )
        return list(rows)


async def standing(database: Database, card_id: uuid.UUID) -> tuple[int, str]:
    async with database.session() as session:
        card = await session.get(Card, card_id, populate_existing=True)
        assert card is not None
        return card.days_past_due, card.overdue_bucket
