"""A small branch world for the task tests: two branches (one without agents), tiers,
customers with consent, birthdays, stage changes, complaints, cards, reminders and offers
made as bare rows (no C2 values but the birthday index), which is all generation reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.encryption import KeyRing
from models.cards.card import Card, CardStatus
from models.collections.reminder import RepaymentReminder
from models.customers.customer import Customer, LifecycleHistory
from models.customers.identifiers import BIRTHDAY_INDEX, birthday_key
from models.growth.customer_metrics import CustomerMetrics
from models.growth.offer import Offer, OfferAssignment
from models.growth.tier import Tier
from models.merchants.merchant import Merchant
from models.organisation.organisation import Branch, StaffUser
from models.service_desk.complaint import Complaint


# Noon in Shanghai on a day: well inside the bank's local day.
def local_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)


@dataclass
class TaskWorld:
    branch: Branch
    empty_branch: Branch
    gold: Tier
    standard: Tier
    agents: list[StaffUser] = field(default_factory=list)
    inactive_agent: StaffUser | None = None
    supervisor: StaffUser | None = None


async def task_world(session: AsyncSession) -> TaskWorld:
    suffix = uuid.uuid4().hex[:6]
    branch = Branch(code=f"tb-{suffix}", name="Task branch")
    empty = Branch(code=f"te-{suffix}", name="No agents")
    gold = Tier(code="gold", name="Gold", rank=30)
    standard = Tier(code="standard", name="Standard", rank=10)
    session.add_all([branch, empty, gold, standard])
    await session.flush()
    world = TaskWorld(branch, empty, gold, standard)

    def staff(name: str, role: str, branch_id: uuid.UUID, active: bool = True) -> StaffUser:
        return StaffUser(
            username=f"{name}-{suffix}",
            display_name=name,
            password_hash="x",
            role=role,
            branch_id=branch_id,
            is_active=active,
        )

    world.agents = [staff("agent-a", "agent", branch.id), staff("agent-b", "agent", branch.id)]
    world.inactive_agent = staff("gone", "agent", branch.id, active=False)
    world.supervisor = staff("boss", "supervisor", branch.id)
    session.add_all([*world.agents, world.inactive_agent, world.supervisor])
    await session.flush()
    return world


async def customer(
    session: AsyncSession,
    ring: KeyRing,
    branch: Branch,
    tier: Tier,
    *,
    birthday: date | None = None,
    stage: str = "active",
    **values: Any,
) -> Customer:
    row = Customer(branch_id=branch.id, tier_id=tier.id, lifecycle_stage=stage, **values)
    if birthday is not None:
        row.birthday_bidx = ring.blind_index(BIRTHDAY_INDEX, birthday_key(birthday))
    session.add(row)
    await session.flush()
    return row


async def turned(
    session: AsyncSession, row: Customer, stage: str, on: date, reasons: list[str]
) -> None:
    """``row`` changed to ``stage`` on ``on`` (a history row), with the churn reasons."""
    session.add(
        LifecycleHistory(
            customer_id=row.id,
            from_stage="active",
            to_stage=stage,
            reason="test",
            created_at=local_noon(on),
        )
    )
    session.add(
        CustomerMetrics(
            customer_id=row.id,
            evaluated_at=local_noon(on),
            window_days=90,
            churn_reasons=reasons,
        )
    )
    await session.flush()


async def resolved_complaint(session: AsyncSession, row: Customer, on: date) -> Complaint:
    complaint = Complaint(
        customer_id=row.id,
        branch_id=row.branch_id,
        status="resolved",
        due_at=local_noon(on),
        resolved_at=local_noon(on),
    )
    session.add(complaint)
    await session.flush()
    return complaint


async def issued_card(session: AsyncSession, row: Customer, on: date) -> Card:
    card = Card(
        customer_id=row.id,
        product="UnionPay Classic",
        bin="622848",
        last4="0001",
        status=CardStatus.ISSUED,
        credit_limit_cents=1_000_000,
        issued_at=local_noon(on),
    )
    session.add(card)
    await session.flush()
    return card


async def reminder(
    session: AsyncSession, card: Card, row: Customer, on: date, channel: str
) -> RepaymentReminder:
    planned = RepaymentReminder(
        card_id=card.id,
        cycle_end=on - timedelta(days=20),
        customer_id=row.id,
        branch_id=row.branch_id,
        due_date=on + timedelta(days=3),
        remind_on=on,
        channel=channel,
        minimum_payment_cents=10_000,
    )
    session.add(planned)
    await session.flush()
    return planned


async def offered(session: AsyncSession, row: Customer, *, active: bool) -> Offer:
    merchant = Merchant(name="Shop")
    session.add(merchant)
    await session.flush()
    offer = Offer(
        merchant_id=merchant.id,
        title="10% off",
        status="active" if active else "paused",
        starts_at=datetime(2020, 1, 1, tzinfo=UTC),
        ends_at=datetime(2099, 1, 1, tzinfo=UTC),
    )
    session.add(offer)
    await session.flush()
    session.add(OfferAssignment(offer_id=offer.id, customer_id=row.id))
    await session.flush()
    return offer
