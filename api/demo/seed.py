"""Demo data for ``cardcrm seed --demo``: tiers, two branches, the demo staff, customers,
partner merchants and their offers; with ``CardUse`` (the CLI's default), the card book of
``api.demo.card_use`` too: varied card states, a year of card use and its statements.

Customers are built with the same service-layer function the API uses (so they are sealed,
indexed and validated exactly like real input). For a given seed the generated people, their
ids and every assignment are the same on every run; only ciphertexts differ (fresh nonces).
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from api.demo.card_use import (
    Booked,
    CardUse,
    book_card_use,
    link_replacements,
    vary_card_states,
)
from api.demo.people import REFERENCE_DATE, DemoPerson, generate_people
from auth.passwords import hash_password
from core.encryption import KeyRing
from core.identity import Role
from core.settings import get_settings
from models.cards.card import Card, CardStatus
from models.customers.customer import Customer, LifecycleStage, RiskGrade
from models.growth.offer import BenefitType, Offer, OfferStatus
from models.growth.tier import Tier, TierCode
from models.keys import CustomerKey
from models.merchants.merchant import Merchant
from models.organisation.organisation import Branch, StaffUser
from models.sealing import seal_field
from models.service_desk.complaint import (
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintSeverity,
)
from models.service_desk.interaction import Interaction, InteractionChannel, InteractionKind
from models.transactions.transaction import MerchantCategory
from resolvers.customers.input import Consent, NewCard, NewCustomer
from resolvers.customers.records import new_customer_rows
from resolvers.privacy.consent_history import onboarding_changes, record_consent_changes
from resolvers.service_desk.sla import due_at

SEED_ACTOR = "demo-seed"  # who gave the demo customers' consents: the seeder
TIERS = (
    (TierCode.STANDARD, "标准卡 Standard", 1, 0, 0, 72, ["积分 1x"]),
    (TierCode.SILVER, "银卡 Silver", 2, 50_000, 24, 48, ["积分 1.2x", "生日礼遇"]),
    (TierCode.GOLD, "金卡 Gold", 3, 150_000, 60, 24, ["积分 1.5x", "机场贵宾厅 2 次/年"]),
    (
        TierCode.PLATINUM,
        "白金卡 Platinum",
        4,
        500_000,
        120,
        12,
        ["积分 2x", "专属客户经理", "贵宾厅不限次"],
    ),
    (
        TierCode.DIAMOND,
        "钻石卡 Diamond",
        5,
        1_500_000,
        200,
        4,
        ["积分 3x", "私人银行服务", "高尔夫礼遇"],
    ),
)
# Each tier's points multiplier (100 = 1x), as its benefits say; migration 0011 sets the same.
TIER_POINTS_PERCENT = {
    TierCode.STANDARD: 100,
    TierCode.SILVER: 120,
    TierCode.GOLD: 150,
    TierCode.PLATINUM: 200,
    TierCode.DIAMOND: 300,
}
BRANCHES = (("BJ-CY", "北京朝阳支行"), ("SH-PD", "上海浦东支行"))
DEMO_STAFF = (
    ("demo-admin", "演示管理员", Role.ADMIN, None),
    ("demo-supervisor", "演示主管", Role.SUPERVISOR, 0),
    ("demo-agent", "演示坐席 A", Role.AGENT, 0),
    ("demo-agent-b", "演示坐席 B", Role.AGENT, 1),
    ("demo-marketer", "演示营销", Role.MARKETER, None),
    ("demo-risk", "演示风控", Role.RISK_OFFICER, None),
    ("demo-auditor", "演示审计", Role.AUDITOR, None),
)
_TIER_WEIGHTS = (55, 25, 12, 6, 2)
CARD_ACTIVATION_SHARE = 0.75
# merchant, category, offers: (title, benefit, value, eligible segments, status)
DEMO_MERCHANTS = (
    (
        "街角咖啡",
        MerchantCategory.DINING,
        (("拿铁第二杯半价", BenefitType.PERCENT_OFF, 25, ("dining",), OfferStatus.ACTIVE),),
    ),
    (
        "云途旅行",
        MerchantCategory.TRAVEL,
        (("机票满 2000 减 200", BenefitType.AMOUNT_OFF, 20_000, ("travel",), OfferStatus.ACTIVE),),
    ),
    (
        "数码港",
        MerchantCategory.ELECTRONICS,
        (
            ("数码产品满额返现 50 元", BenefitType.CASHBACK, 5_000, (), OfferStatus.ACTIVE),
            ("耳机积分三倍", BenefitType.POINTS_MULTIPLIER, 3, (), OfferStatus.DRAFT),
        ),
    ),
)
_PRODUCTS = ("UnionPay Classic", "UnionPay Gold", "Travel Platinum", "Youth Card")


@dataclass(frozen=True)
class SeedResult:
    customers: int
    staff_password: str | None
    card_use: Booked | None = None


async def is_seeded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(StaffUser)))


def reference_tiers() -> list[Tier]:
    """The demo's tier ladder (the benchmark's data uses it too), lowest rank first."""
    return [
        Tier(
            code=code,
            name=name,
            rank=rank,
            min_annual_spend_cents=spend * 100,
            min_transactions=count,
            service_level_hours=hours,
            benefits=benefits,
            points_multiplier_percent=TIER_POINTS_PERCENT[code],
        )
        for code, name, rank, spend, count, hours, benefits in TIERS
    ]


def reference_branches() -> list[Branch]:
    return [Branch(code=code, name=name) for code, name in BRANCHES]


async def _reference_rows(session: AsyncSession, password: str) -> tuple[list[Tier], list[Branch]]:
    tiers, branches = reference_tiers(), reference_branches()
    session.add_all([*tiers, *branches])
    password_hash = await hash_password(password)
    session.add_all(
        [
            StaffUser(
                username=username,
                display_name=display,
                role=role,
                branch_id=branches[index].id if index is not None else None,
                password_hash=password_hash,
            )
            for username, display, role, index in DEMO_STAFF
        ]
    )
    await session.flush()
    return tiers, branches


def _customer_input(person: DemoPerson, rng: random.Random) -> NewCustomer:
    consent = Consent(
        sms=rng.random() < 0.7,
        email=rng.random() < 0.5,
        push=rng.random() < 0.6,
        phone=rng.random() < 0.4,
        do_not_disturb_start="22:00" if rng.random() < 0.5 else None,
        do_not_disturb_end="08:00" if rng.random() < 0.5 else None,
        preferred_channel=rng.choice(["sms", "push", "email", "phone"]),
    )
    cards = tuple(
        NewCard(
            pan=pan,
            product=rng.choice(_PRODUCTS),
            credit_limit=Decimal(rng.choice([10_000, 20_000, 50_000, 80_000, 150_000])),
        )
        for pan in person.pans
    )
    return NewCustomer(
        name=person.name,
        birth_date=person.birth_date,
        id_number=person.national_id,
        phone=person.phone,
        gender=person.gender,
        email=person.email,
        address=person.address,
        consent=consent,
        cards=cards,
    )


def demo_customer(
    ring: KeyRing, person: DemoPerson, rng: random.Random, tiers: list[Tier], branches: list[Branch]
) -> tuple[Customer, list[Card], CustomerKey]:
    data = _customer_input(person, rng).checked()
    tier = rng.choices(tiers, weights=_TIER_WEIGHTS)[0]
    row, cards, key = new_customer_rows(
        ring,
        data,
        branch_id=rng.choice(branches).id,
        tier_id=tier.id,
        new_id=lambda: uuid.UUID(int=rng.getrandbits(128), version=4),
    )
    created = datetime.combine(REFERENCE_DATE, datetime.min.time(), UTC) - timedelta(
        minutes=rng.randrange(0, 2 * 365 * 24 * 60)
    )
    row.created_at = row.updated_at = created
    row.lifecycle_stage = rng.choice(list(LifecycleStage))
    row.risk_grade = rng.choices(list(RiskGrade), weights=(30, 35, 20, 10, 5))[0]
    row.credit_score = rng.randrange(350, 900)
    # Its own generator, so activation does not shift the rest of the seeded sequence.
    activation = random.Random(row.id.int)  # noqa: S311 - demo data, not secrets
    for card in cards:
        card.created_at = card.updated_at = card.issued_at = created
        if activation.random() < CARD_ACTIVATION_SHARE:
            card.status = CardStatus.ACTIVATED
            card.activated_at = created + timedelta(days=activation.randrange(1, 30))
    return row, cards, key


async def _merchants_and_offers(session: AsyncSession, reference: datetime) -> None:
    """Partner merchants and their offers: three active ones around ``reference``, one draft."""
    marketer = await session.scalar(select(StaffUser).where(StaffUser.role == Role.MARKETER))
    for name, category, offers in DEMO_MERCHANTS:
        merchant = Merchant(name=name, category=category)
        session.add(merchant)
        await session.flush()
        for title, benefit, value, segments, status in offers:
            session.add(
                Offer(
                    merchant_id=merchant.id,
                    title=title,
                    description=f"{name}：{title}",
                    category=category,
                    benefit_type=benefit,
                    benefit_value=value,
                    starts_at=reference - timedelta(days=7),
                    ends_at=reference + timedelta(days=90),
                    quota=500,
                    budget_cents=5_000_000,
                    eligible_segments=list(segments),
                    spend_categories=[category],
                    status=status,
                    created_by=marketer.id if marketer else None,
                )
            )


async def seed_demo(
    session: AsyncSession,
    ring: KeyRing,
    *,
    customers: int,
    seed: int,
    card_use: CardUse | None = None,
) -> SeedResult:
    """Creates the demo world on an empty database (refuses to mix with existing data); with
    ``card_use``, cards in varied states, a year of their use and its statements too."""
    if await is_seeded(session):
        return SeedResult(customers=0, staff_password=None)
    password = secrets.token_urlsafe(12)
    tiers, branches = await _reference_rows(session, password)
    await _merchants_and_offers(session, datetime.now(UTC))
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    people = generate_people(customers, seed)
    for start in range(0, len(people), 500):
        built = [demo_customer(ring, p, rng, tiers, branches) for p in people[start : start + 500]]
        session.add_all([row for customer, _, key in built for row in (customer, key)])
        await session.flush()  # customers before their cards: the tables have no ORM relationships
        customers_built = [customer for customer, _, _ in built]
        await record_consent_changes(session, onboarding_changes(customers_built, SEED_ACTOR))
        batch_cards = [card for _, cards, _ in built for card in cards]
        replacements, events = (
            vary_card_states(ring, batch_cards, card_use.end, with_lost=start == 0)
            if card_use
            else ([], [])
        )
        session.add_all(batch_cards)
        await session.flush()
        session.add_all(replacements)
        await session.flush()
        link_replacements(batch_cards, replacements)
        session.add_all(events)
        await session.flush()
        await _service_history(session, ring, rng, customers_built, tiers)
    booked = None
    if card_use is not None:
        booked = await book_card_use(
            session, ring, get_settings(), customers=len(people), seed=seed, use=card_use
        )
    await session.commit()
    return SeedResult(customers=len(people), staff_password=password, card_use=booked)


_COMPLAINTS = (
    (ComplaintCategory.FEES, "年费扣款有疑问，请核实"),
    (ComplaintCategory.BILLING_DISPUTE, "账单中有一笔不认识的消费"),
    (ComplaintCategory.REWARDS, "积分没有按时到账"),
    (ComplaintCategory.SERVICE_ATTITUDE, "客服电话等待时间过长"),
)
_FOLLOW_UPS = ("激活提醒回访", "生日关怀", "账单分期咨询", "满意度调查")


async def _service_history(
    session: AsyncSession,
    ring: KeyRing,
    rng: random.Random,
    customers: list[Customer],
    tiers: list[Tier],
) -> None:
    """A few interactions and open complaints, so the console and the KPIs show something."""
    agents = {
        user.branch_id: user
        for user in await session.scalars(select(StaffUser).where(StaffUser.role == Role.AGENT))
    }
    tier_hours = {tier.id: tier.service_level_hours for tier in tiers}
    settings = get_settings()
    for index, customer in enumerate(customers):
        agent = agents.get(customer.branch_id)
        if index % 5 == 0 and agent is not None:
            interaction = Interaction(
                customer_id=customer.id,
                channel=InteractionChannel.PHONE,
                direction="outbound",
                kind=InteractionKind.FOLLOW_UP,
                subject=rng.choice(_FOLLOW_UPS),
                satisfaction=rng.randint(3, 5),
                staff_id=agent.id,
                occurred_at=customer.created_at + timedelta(days=rng.randrange(1, 60)),
            )
            seal_field(ring, interaction, "notes", "客户反馈良好，无其他需求")
            session.add(interaction)
        if index % 12 == 0:
            category, text = rng.choice(_COMPLAINTS)
            filed = customer.created_at + timedelta(days=rng.randrange(1, 300))
            complaint = Complaint(
                customer_id=customer.id,
                branch_id=customer.branch_id,
                category=category,
                channel="phone",
                severity=ComplaintSeverity.MEDIUM,
                created_at=filed,
                updated_at=filed,
                due_at=due_at(
                    settings, filed, ComplaintSeverity.MEDIUM, tier_hours[customer.tier_id]
                ),
            )
            seal_field(ring, complaint, "description", text)
            session.add(complaint)
            await session.flush()
            session.add(
                ComplaintEvent(
                    complaint_id=complaint.id,
                    action="file",
                    actor_kind="customer",
                    actor_id=str(customer.id),
                    to_status="open",
                    created_at=filed,
                )
            )
