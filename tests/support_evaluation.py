"""Customers with hand-made spending histories, for the evaluation tests.

Transactions go straight into the table with SQLAlchemy Core (the importer has tests of its
own); customers are bare rows (C2 columns empty), which is all evaluation reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.cards.card import Card, CardStatus
from models.customers.customer import Customer
from models.growth.tier import Tier
from models.organisation.organisation import Branch
from models.transactions.transaction import Transaction

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Spend:
    days_ago: float
    yuan: int
    category: str = "dining"


def every(
    days: float, *, count: int, from_days_ago: float, yuan: int, category: str = "dining"
) -> list[Spend]:
    """``count`` equal purchases, the newest ``from_days_ago`` days before AS_OF, then one
    every ``days`` days further back."""
    return [Spend(from_days_ago + i * days, yuan, category) for i in range(count)]


async def reference_ids(session: AsyncSession) -> tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]]:
    """Tier ids and branch ids by code (the demo's, seeded beforehand)."""
    tiers = {t.code: t.id for t in (await session.scalars(select(Tier))).all()}
    branches = {b.code: b.id for b in (await session.scalars(select(Branch))).all()}
    return tiers, branches


async def add_spender(
    session: AsyncSession,
    *,
    tier_id: uuid.UUID,
    branch_id: uuid.UUID,
    joined_days_ago: float,
    spending: Sequence[Spend] = (),
    cards: int = 1,
    override_until: datetime | None = None,
    as_of: datetime = AS_OF,
) -> uuid.UUID:
    """A customer with ``cards`` cards; the spending is spread over them in turn."""
    joined = as_of - timedelta(days=joined_days_ago)
    customer = Customer(
        branch_id=branch_id,
        tier_id=tier_id,
        created_at=joined,
        updated_at=joined,
        tier_override_until=override_until,
    )
    session.add(customer)
    await session.flush()
    card_rows = [
        Card(
            customer_id=customer.id,
            product="UnionPay Classic",
            bin="622848",
            last4=f"{n:04d}",
            status=CardStatus.ACTIVATED,
            issued_at=joined,
            activated_at=joined,
        )
        for n in range(cards)
    ]
    session.add_all(card_rows)
    await session.flush()
    if spending:
        await session.execute(
            insert(Transaction.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": uuid.uuid4(),
                    "card_id": card_rows[index % len(card_rows)].id,
                    "amount_cents": spend.yuan * 100,
                    "currency": "CNY",
                    "merchant_name": f"{spend.category} merchant",
                    "merchant_category": spend.category,
                    "channel": "pos",
                    "occurred_at": as_of - timedelta(days=spend.days_ago),
                    "natural_key": f"test-{uuid.uuid4().hex}",
                    "created_at": as_of,
                }
                for index, spend in enumerate(spending)
            ],
        )
    await session.commit()
    return customer.id
