"""The facts ``cardcrm tasks generate`` turns into tasks, made set-based on the bench's
customers (``bench.evaluation_data``): every statement is one ``INSERT … SELECT`` or
``UPDATE`` over all customers, numbered once into a helper table so that every tenth, every
fiftieth … customer gets a fact without a row passing through Python.

Per 100,000 customers: 10 % turned at-risk (with churn reasons, metrics and an open offer),
10 % turned dormant, 2 % had a complaint resolved, 2 % were issued a card, 2 % are due a
phone reminder on the day, everyone has a birthday index (spread over the 366 days), a third
consent to phone calls; five agents and a supervisor per branch.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    Integer,
    LargeBinary,
    MetaData,
    Select,
    String,
    Table,
    Uuid,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import Database
from core.encryption import KeyRing
from models.cards.card import Card
from models.collections.reminder import RepaymentReminder
from models.columns import UTCDateTime
from models.customers.customer import Customer, LifecycleHistory
from models.customers.identifiers import BIRTHDAY_INDEX
from models.growth.customer_metrics import CustomerMetrics
from models.growth.offer import Offer, OfferAssignment
from models.merchants.merchant import Merchant
from models.organisation.organisation import Branch, StaffUser
from models.service_desk.complaint import Complaint
from resolvers.batch_sql import new_uuid

AGENTS_PER_BRANCH = 5
_META = MetaData()
NUMBERS = Table(
    "bench_numbers", _META, Column("id", Uuid, primary_key=True), Column("seq", Integer)
)
BIRTHDAYS = Table(
    "bench_birthdays",
    _META,
    Column("day_no", Integer, primary_key=True),
    Column("digest", LargeBinary),
)
CUSTOMERS: Table = Customer.__table__  # type: ignore[attr-defined]
LEAP_YEAR = 2024


def _every(modulus: int, remainder: int) -> Select[Any]:
    return select(NUMBERS.c.id).where(NUMBERS.c.seq % modulus == remainder)


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(4), tzinfo=UTC)  # noon in Shanghai


async def make_facts(database: Database, ring: KeyRing, as_of: date) -> None:
    u = CUSTOMERS.c
    yesterday = literal(_noon(as_of - timedelta(days=1)), UTCDateTime)
    async with database.session() as session:
        await session.run_sync(lambda s: _META.create_all(s.connection()))
        await session.execute(
            insert(NUMBERS).from_select(
                ["id", "seq"], select(u.id, func.row_number().over(order_by=u.id))
            )
        )
        days = [date(LEAP_YEAR, 1, 1) + timedelta(days=n) for n in range(366)]
        await session.execute(
            insert(BIRTHDAYS),
            [
                {"day_no": n, "digest": ring.blind_index(BIRTHDAY_INDEX, f"{d:%m-%d}")}
                for n, d in enumerate(days)
            ],
        )
        digest = (
            select(BIRTHDAYS.c.digest)
            .select_from(NUMBERS.join(BIRTHDAYS, BIRTHDAYS.c.day_no == NUMBERS.c.seq % 366))
            .where(NUMBERS.c.id == u.id)
            .scalar_subquery()
        )
        await session.execute(update(CUSTOMERS).values(birthday_bidx=digest))
        await session.execute(
            update(CUSTOMERS).where(u.id.in_(_every(3, 0))).values(consent_phone=True)
        )
        for remainder, stage in ((1, "at_risk"), (2, "dormant")):
            await session.execute(
                update(CUSTOMERS)
                .where(u.id.in_(_every(10, remainder)))
                .values(lifecycle_stage=stage)
            )
        turned = u.lifecycle_stage.in_(["at_risk", "dormant"])
        h = LifecycleHistory.__table__.c  # type: ignore[attr-defined]
        await session.execute(
            insert(LifecycleHistory.__table__).from_select(  # type: ignore[attr-defined]
                [h.id, h.customer_id, h.from_stage, h.to_stage, h.reason, h.created_at],
                select(
                    new_uuid(),
                    u.id,
                    literal("active"),
                    u.lifecycle_stage,
                    literal("bench"),
                    yesterday,
                ).where(turned),
            )
        )
        m = CustomerMetrics.__table__.c  # type: ignore[attr-defined]
        await session.execute(
            insert(CustomerMetrics.__table__).from_select(  # type: ignore[attr-defined]
                [
                    m.customer_id,
                    m.evaluated_at,
                    m.window_days,
                    m.frequency,
                    m.monetary_cents,
                    m.annual_spend_cents,
                    m.annual_transactions,
                    m.churn_score,
                    m.churn_reasons,
                    m.risk_reasons,
                    m.category_spend,
                ],
                select(
                    u.id,
                    yesterday,
                    literal(90),
                    literal(0),
                    literal(0, BigInteger),
                    literal(0, BigInteger),
                    literal(0),
                    literal(0.8),
                    literal(["inactive", "spend_drop"], JSON),
                    literal([], JSON),
                    literal({}, JSON),
                ).where(turned),
            )
        )
        await _offers(session, as_of)
        await _service_facts(session, as_of)
        await _staff(session)
        await session.commit()


async def _offers(session: AsyncSession, as_of: date) -> None:
    merchant = Merchant(name="Bench shop")
    session.add(merchant)
    await session.flush()
    offer = Offer(
        merchant_id=merchant.id,
        title="Come back: 10% off",
        status="active",
        starts_at=_noon(as_of - timedelta(days=30)),
        ends_at=_noon(as_of + timedelta(days=60)),
    )
    session.add(offer)
    await session.flush()
    u, a = CUSTOMERS.c, OfferAssignment.__table__.c  # type: ignore[attr-defined]
    await session.execute(
        insert(OfferAssignment.__table__).from_select(  # type: ignore[attr-defined]
            [a.id, a.offer_id, a.customer_id, a.status, a.targeted_at],
            select(
                new_uuid(),
                literal(offer.id, Uuid),
                u.id,
                literal("targeted"),
                literal(_noon(as_of - timedelta(days=5)), UTCDateTime),
            ).where(u.lifecycle_stage == "at_risk"),
        )
    )


async def _service_facts(session: AsyncSession, as_of: date) -> None:
    u = CUSTOMERS.c
    stamp = literal(_noon(as_of - timedelta(days=2)), UTCDateTime)
    c = Complaint.__table__.c  # type: ignore[attr-defined]
    await session.execute(
        insert(Complaint.__table__).from_select(  # type: ignore[attr-defined]
            [
                c.id,
                c.customer_id,
                c.branch_id,
                c.category,
                c.channel,
                c.severity,
                c.status,
                c.due_at,
                c.reopen_count,
                c.escalation_level,
                c.resolved_at,
                c.created_at,
                c.updated_at,
                c.version,
            ],
            select(
                new_uuid(),
                u.id,
                u.branch_id,
                literal("other"),
                literal("phone"),
                literal("medium"),
                literal("resolved"),
                stamp,
                literal(0),
                literal(0),
                stamp,
                stamp,
                stamp,
                literal(1),
            ).where(u.id.in_(_every(50, 3))),
        )
    )
    k = Card.__table__.c  # type: ignore[attr-defined]
    await session.execute(
        update(Card.__table__)  # type: ignore[attr-defined]
        .where(k.customer_id.in_(_every(50, 4)))
        .values(issued_at=_noon(as_of))
    )
    r = RepaymentReminder.__table__.c  # type: ignore[attr-defined]
    await session.execute(
        insert(RepaymentReminder.__table__).from_select(  # type: ignore[attr-defined]
            [
                r.id,
                r.card_id,
                r.cycle_end,
                r.customer_id,
                r.branch_id,
                r.due_date,
                r.remind_on,
                r.channel,
                r.minimum_payment_cents,
                r.risk_grade,
                r.status,
                r.created_at,
            ],
            select(
                new_uuid(),
                k.id,
                literal(as_of - timedelta(days=17), Date),
                u.id,
                u.branch_id,
                literal(as_of + timedelta(days=3), Date),
                literal(as_of, Date),
                literal("phone", String),
                literal(50_000, BigInteger),
                literal("C"),
                literal("planned"),
                stamp,
            )
            .select_from(Card.__table__.join(CUSTOMERS, u.id == k.customer_id))  # type: ignore[attr-defined]
            .where(u.id.in_(_every(50, 5))),
        )
    )


async def _staff(session: AsyncSession) -> None:
    branches = list(await session.scalars(select(Branch)))
    for branch in branches:
        for n in range(AGENTS_PER_BRANCH):
            session.add(
                StaffUser(
                    username=f"bench-{branch.code}-agent-{n}",
                    display_name="Agent",
                    password_hash="x",
                    role="agent",
                    branch_id=branch.id,
                )
            )
        session.add(
            StaffUser(
                username=f"bench-{branch.code}-supervisor-{uuid.uuid4().hex[:4]}",
                display_name="Supervisor",
                password_hash="x",
                role="supervisor",
                branch_id=branch.id,
            )
        )
    await session.flush()
