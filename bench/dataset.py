"""The benchmark's PostgreSQL dataset: 100,000 customers over 20 branches, 150,000 cards,
1,000,000 transactions, 300,000 interactions, 20,000 complaints, 200 offers and 50,000
offer assignments at ``scale=1``; ``--scale 0.02`` for a quick run.

    python -m bench.dataset postgresql+asyncpg://postgres@127.0.0.1:5432/db --scale 0.02

The reference rows (tiers, the demo branches and staff, the demo merchants) come from
``api.demo.seed.seed_demo`` and the customers from the demo seeder's own builder
(``api.demo.seed.demo_customer`` → ``resolvers.customers.records.new_customer_rows``), so every C2
value is sealed and indexed exactly as the API would store it, with the database's own key ring.
The rows then go in with COPY (``bench.evaluation_data``'s loader), not one INSERT at a time:
the service layer builds ~1,300 customers/s on one core, COPY is not the bottleneck.
For a given seed the ids and values are the same on every run; ciphertexts differ.

PostGraphile reads plain-text twins of these rows (``bench.plain_twins``, schema ``plain``),
built after the dataset by the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

import migrations
from api.demo.people import REFERENCE_DATE, generate_people
from api.demo.seed import demo_customer, seed_demo
from bench.evaluation_data import (
    TRANSACTION_COLUMNS,
    Volume,
    _load_postgres,
    people,
    transaction_rows,
)
from core.database import Database
from core.encryption import KeyRing
from core.settings import Environment, Settings
from models.cards.card import Card
from models.customers.customer import Customer
from models.growth.offer import BenefitType, Offer, OfferAssignment, OfferStatus
from models.growth.tier import Tier
from models.key_store import load_key_ring, master_key_from_settings
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
from resolvers.growth.codes import issue_code

AS_OF = datetime.combine(REFERENCE_DATE, datetime.min.time(), UTC)
BRANCHES = 20
MERCHANTS = 20
CHUNK = 2_000
_SUBJECTS = ("激活提醒回访", "生日关怀", "账单分期咨询", "满意度调查", "额度调整咨询")
_COMPLAINTS = ("年费扣款有疑问，请核实", "账单中有一笔不认识的消费", "积分没有按时到账")


@dataclass(frozen=True)
class Sizes:
    customers: int = 100_000
    cards: int = 150_000
    transactions: int = 1_000_000
    interactions: int = 300_000
    complaints: int = 20_000
    offers: int = 200
    assignments: int = 50_000

    def scaled(self, scale: float) -> Sizes:
        def part(value: int) -> int:
            return max(1, round(value * scale))

        return Sizes(
            customers=part(self.customers),
            cards=part(self.cards),
            transactions=part(self.transactions),
            interactions=part(self.interactions),
            complaints=part(self.complaints),
            offers=max(10, part(self.offers)),
            assignments=part(self.assignments),
        )


@dataclass(frozen=True)
class Reference:
    tiers: list[Tier]
    branches: list[Branch]
    agents: list[uuid.UUID]
    merchants: list[Merchant]


def _new_id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _columns(model: type[SQLModel]) -> tuple[str, ...]:
    return tuple(column.name for column in model.__table__.columns)  # type: ignore[attr-defined]


def _row(model: type[SQLModel], record: SQLModel) -> tuple[Any, ...]:
    """The COPY record of an unsaved ORM object (JSON columns as text, as asyncpg wants)."""
    values = []
    for column in model.__table__.columns:  # type: ignore[attr-defined]
        value = getattr(record, column.key)
        values.append(json.dumps(value) if isinstance(value, list | dict) else value)
    return tuple(values)


def _rows(model: type[SQLModel], records: Sequence[SQLModel]) -> tuple[Any, ...]:
    return (model.__tablename__, _columns(model), iter([_row(model, r) for r in records]))


async def _reference(database: Database, ring: KeyRing, rng: random.Random) -> Reference:
    """The demo's tiers, branches, staff and merchants, plus branches and merchants up to
    the benchmark's counts."""
    async with database.session() as session:
        await seed_demo(session, ring, customers=0, seed=1)
        existing = (await session.scalars(select(Branch))).all()
        session.add_all(
            Branch(id=_new_id(rng), code=f"BR-{n:02d}", name=f"第{n}支行")
            for n in range(len(existing) + 1, BRANCHES + 1)
        )
        known = (await session.scalars(select(Merchant))).all()
        categories = list(MerchantCategory)
        session.add_all(
            Merchant(
                id=_new_id(rng), name=f"合作商户 {n}", category=categories[n % len(categories)]
            )
            for n in range(len(known) + 1, MERCHANTS + 1)
        )
        await session.commit()
        tiers = sorted((await session.scalars(select(Tier))).all(), key=lambda t: t.rank)
        branches = sorted((await session.scalars(select(Branch))).all(), key=lambda b: b.code)
        agents = [s.id for s in await session.scalars(select(StaffUser))]
        merchants = sorted((await session.scalars(select(Merchant))).all(), key=lambda m: m.name)
    return Reference(list(tiers), list(branches), agents, list(merchants))


def _customers(
    ring: KeyRing, rng: random.Random, reference: Reference, sizes: Sizes, seed: int
) -> tuple[list[Customer], list[Card], list[CustomerKey]]:
    """Customers through the demo seeder; each keeps its first card, and the extra cards the
    demo gave some of them fill up to ``sizes.cards``."""
    customers: list[Customer] = []
    keys: list[CustomerKey] = []
    first_cards: list[Card] = []
    extra_cards: list[Card] = []
    for person in generate_people(sizes.customers, seed):
        row, cards, key = demo_customer(ring, person, rng, reference.tiers, reference.branches)
        customers.append(row)
        keys.append(key)
        first_cards.append(cards[0])
        extra_cards.extend(cards[1:])
    return customers, first_cards + extra_cards[: max(0, sizes.cards - len(first_cards))], keys


def _transactions(
    rng: random.Random, customers: list[Customer], cards: list[Card], sizes: Sizes
) -> Iterator[tuple[Any, ...]]:
    """``bench.evaluation_data``'s spending model, on these customers' cards."""
    volume = Volume(sizes.customers, len(cards), sizes.transactions)
    habits = people(rng, volume, AS_OF)
    by_customer = {
        customer.id: replace(habit, id=customer.id, created_at=customer.created_at)
        for customer, habit in zip(customers, habits, strict=True)
    }
    return transaction_rows(rng, [(by_customer[c.customer_id], c.id) for c in cards], volume, AS_OF)


def _interactions(
    ring: KeyRing, rng: random.Random, customers: list[Customer], agents: list[uuid.UUID], n: int
) -> list[Interaction]:
    result = []
    for _ in range(n):
        customer = rng.choice(customers)
        row = Interaction(
            id=_new_id(rng),
            customer_id=customer.id,
            channel=rng.choice(list(InteractionChannel)),
            kind=rng.choice(list(InteractionKind)),
            subject=rng.choice(_SUBJECTS),
            satisfaction=rng.randint(1, 5),
            staff_id=rng.choice(agents),
            occurred_at=AS_OF - timedelta(minutes=rng.randrange(1, 365 * 24 * 60)),
        )
        seal_field(ring, row, "notes", "客户反馈良好，无其他需求")
        result.append(row)
    return result


def _complaints(
    ring: KeyRing, rng: random.Random, customers: list[Customer], n: int
) -> tuple[list[Complaint], list[ComplaintEvent]]:
    complaints, events = [], []
    for customer in rng.sample(customers, min(n, len(customers))):
        filed = AS_OF - timedelta(minutes=rng.randrange(1, 300 * 24 * 60))
        complaint = Complaint(
            id=_new_id(rng),
            customer_id=customer.id,
            branch_id=customer.branch_id,
            category=rng.choice(list(ComplaintCategory)),
            channel="phone",
            severity=ComplaintSeverity.MEDIUM,
            created_at=filed,
            updated_at=filed,
            due_at=filed + timedelta(hours=48),
        )
        seal_field(ring, complaint, "description", rng.choice(_COMPLAINTS))
        complaints.append(complaint)
        events.append(
            ComplaintEvent(
                id=_new_id(rng),
                complaint_id=complaint.id,
                action="file",
                actor_kind="customer",
                actor_id=str(customer.id),
                to_status="open",
                created_at=filed,
            )
        )
    return complaints, events


def _offers(rng: random.Random, merchants: list[Merchant], n: int) -> list[Offer]:
    return [
        Offer(
            id=_new_id(rng),
            merchant_id=(merchant := merchants[index % len(merchants)]).id,
            title=f"{merchant.name} 优惠 {index}",
            description=f"{merchant.name}：满 200 减 20",
            category=merchant.category,
            benefit_type=BenefitType.AMOUNT_OFF,
            benefit_value=2_000,
            starts_at=AS_OF - timedelta(days=30),
            ends_at=AS_OF + timedelta(days=3_650),
            budget_cents=None,
            spend_categories=[merchant.category],
            status=OfferStatus.ACTIVE,
            created_at=AS_OF - timedelta(days=31),
            updated_at=AS_OF - timedelta(days=31),
        )
        for index in range(n)
    ]


def _assignments(
    ring: KeyRing, rng: random.Random, offers: list[Offer], customers: list[Customer], n: int
) -> tuple[list[OfferAssignment], list[str]]:
    """``n`` distinct (offer, customer) pairs, each with a fresh one-time code (returned in
    clear, in row order, for W3)."""
    pairs: set[tuple[int, int]] = set()
    n = min(n, len(offers) * len(customers))
    while len(pairs) < n:
        pairs.add((rng.randrange(len(offers)), rng.randrange(len(customers))))
    rows, codes = [], []
    for offer_index, customer_index in sorted(pairs):
        row = OfferAssignment(
            id=_new_id(rng),
            offer_id=offers[offer_index].id,
            customer_id=customers[customer_index].id,
            targeted_at=AS_OF - timedelta(days=rng.randrange(1, 30)),
        )
        codes.append(issue_code(ring, row))
        rows.append(row)
    return rows, codes


@dataclass(frozen=True)
class Built:
    rows: dict[str, int]
    seconds: float
    codes: list[str]


async def build(database: Database, ring: KeyRing, sizes: Sizes, *, seed: int = 1) -> Built:
    """Fills a migrated, empty database; returns the rows per table and the offer codes."""
    started = time.perf_counter()
    rng = random.Random(seed)
    reference = await _reference(database, ring, rng)
    customers, cards, keys = await asyncio.to_thread(_customers, ring, rng, reference, sizes, seed)
    interactions = _interactions(ring, rng, customers, reference.agents, sizes.interactions)
    complaints, events = _complaints(ring, rng, customers, sizes.complaints)
    offers = _offers(rng, reference.merchants, sizes.offers)
    assignments, codes = _assignments(ring, rng, offers, customers, sizes.assignments)
    tables: list[Any] = [
        _rows(Customer, customers),
        _rows(CustomerKey, keys),
        _rows(Card, cards),
        ("transactions", TRANSACTION_COLUMNS, _transactions(rng, customers, cards, sizes)),
        _rows(Complaint, complaints),
        _rows(ComplaintEvent, events),
        _rows(Interaction, interactions),
        _rows(Offer, offers),
        _rows(OfferAssignment, assignments),
    ]
    await _load_postgres(database.url, tables)
    counts = {
        "customers": len(customers),
        "cards": len(cards),
        "interactions": len(interactions),
        "complaints": len(complaints),
        "offers": len(offers),
        "offer_assignments": len(assignments),
    }
    async with database.session() as session:
        from sqlalchemy import text

        counts["transactions"] = int(
            await session.scalar(text("SELECT count(*) FROM transactions")) or 0
        )
    return Built(counts, time.perf_counter() - started, codes)


def bench_settings(url: str, master_key: str) -> Settings:
    return Settings(environment=Environment.TEST, database_url=url, master_key=master_key)


async def build_database(url: str, master_key: str, sizes: Sizes, *, seed: int = 1) -> Built:
    """Migrates ``url`` and fills it, sealing with the key ring ``master_key`` wraps."""
    await asyncio.to_thread(migrations.upgrade, url)
    settings = bench_settings(url, master_key)
    database = Database(url)
    try:
        async with database.session() as session:
            ring = await load_key_ring(session, master_key_from_settings(settings))
        return await build(database, ring, sizes, seed=seed)
    finally:
        await database.dispose()


def main() -> None:
    import base64
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="an empty PostgreSQL database (postgresql+asyncpg://...)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--master-key", default=base64.b64encode(os.urandom(32)).decode())
    args = parser.parse_args()
    built = asyncio.run(build_database(args.url, args.master_key, Sizes().scaled(args.scale)))
    print(json.dumps({"rows": built.rows, "seconds": round(built.seconds, 1)}))


if __name__ == "__main__":
    main()
