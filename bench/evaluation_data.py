"""Throwaway data for timing the evaluation: 100,000 customers, ~150,000 cards and 1,000,000
transactions by default, loaded in seconds.

The rows go straight into the tables the evaluation reads (SQLite through the stdlib driver's
executemany, PostgreSQL through COPY), not through the service layer: C2 columns stay NULL,
which the evaluation never reads. The people behave like a card book does: some never use the
card, most are active, some have gone quiet for weeks, months or years.
"""

from __future__ import annotations

import asyncio
import math
import random
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

from api.demo.seed import reference_branches, reference_tiers
from core.database import Database
from models.transactions.transaction import MerchantCategory

T = TypeVar("T")
BATCH = 50_000
CATEGORIES = [c.value for c in MerchantCategory]
CATEGORY_WEIGHTS = [30, 8, 20, 8, 15, 7, 7, 5]
MERCHANTS = [
    "美团外卖",
    "携程旅行",
    "京东商城",
    "苏宁易购",
    "盒马鲜生",
    "万达影城",
    "中国石化",
    "其他商户",
]
TIER_WEIGHTS = (55, 25, 12, 6, 2)

CUSTOMER_COLUMNS = (
    "id",
    "gender",
    "branch_id",
    "tier_id",
    "lifecycle_stage",
    "risk_grade",
    "credit_score",
    "consent_sms",
    "consent_email",
    "consent_push",
    "consent_phone",
    "tags",
    "segments",
    "created_at",
    "updated_at",
    "version",
)
CARD_COLUMNS = (
    "id",
    "customer_id",
    "product",
    "bin",
    "last4",
    "credit_limit_cents",
    "status",
    "issued_at",
    "created_at",
    "updated_at",
    "version",
)
TRANSACTION_COLUMNS = (
    "id",
    "card_id",
    "amount_cents",
    "currency",
    "merchant_name",
    "merchant_category",
    "channel",
    "occurred_at",
    "natural_key",
    "created_at",
)


@dataclass(frozen=True)
class Volume:
    customers: int = 100_000
    cards: int = 150_000
    transactions: int = 1_000_000


@dataclass(frozen=True)
class Person:
    """How one customer uses their cards: how much, and how long ago they stopped."""

    id: uuid.UUID
    weight: float  # 0: never transacts
    silent_days: float
    created_at: datetime


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _silence(rng: random.Random) -> float:
    pick = rng.random()
    if pick < 0.55:
        return rng.uniform(0, 20)  # active
    if pick < 0.70:
        return rng.uniform(20, 80)  # going quiet
    if pick < 0.80:
        return rng.uniform(80, 170)  # dormant
    return rng.uniform(170, 600)  # gone


def people(rng: random.Random, volume: Volume, as_of: datetime) -> list[Person]:
    result = []
    for _ in range(volume.customers):
        transacts = rng.random() >= 0.15
        silent = _silence(rng) if transacts else 0.0
        age = silent + rng.uniform(30, 1500) if transacts else rng.uniform(0, 900)
        result.append(
            Person(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                weight=rng.lognormvariate(0, 1.3) if transacts else 0.0,
                silent_days=silent,
                created_at=as_of - timedelta(days=age),
            )
        )
    return result


Cards = list[tuple[Person, uuid.UUID]]
Tables = list[tuple[str, tuple[str, ...], Iterator[tuple[Any, ...]]]]


def cards_of(rng: random.Random, persons: list[Person], volume: Volume) -> Cards:
    """Every person gets one card; the rest go to random people (so ~1.5 cards each)."""
    owners = persons + [rng.choice(persons) for _ in range(volume.cards - len(persons))]
    return [(owner, uuid.UUID(int=rng.getrandbits(128), version=4)) for owner in owners]


def customer_rows(
    rng: random.Random, persons: list[Person], tiers: list[uuid.UUID], branches: list[uuid.UUID]
) -> Iterator[tuple[Any, ...]]:
    for person in persons:
        yield (
            person.id,
            "undisclosed",
            rng.choice(branches),
            rng.choices(tiers, TIER_WEIGHTS)[0],
            "new",
            "C",
            600,
            rng.random() < 0.7,
            rng.random() < 0.5,
            rng.random() < 0.6,
            False,
            "[]",
            "[]",
            person.created_at,
            person.created_at,
            1,
        )


def card_rows(rng: random.Random, cards: Cards) -> Iterator[tuple[Any, ...]]:
    for owner, card_id in cards:
        yield (
            card_id,
            owner.id,
            "UnionPay Classic",
            "622848",
            f"{rng.randrange(10_000):04d}",
            5_000_000,
            "activated",
            owner.created_at,
            owner.created_at,
            owner.created_at,
            1,
        )


def transaction_rows(
    rng: random.Random, cards: Cards, volume: Volume, as_of: datetime
) -> Iterator[tuple[Any, ...]]:
    """About ``volume.transactions`` rows, each card's spread over the year before its owner
    went quiet, in time order as a feed delivers them (so a card's rows are scattered over
    the table, as in production, not stored together)."""
    scale = volume.transactions / max(1e-9, sum(owner.weight for owner, _ in cards))
    plan = [
        (owner.silent_days + rng.uniform(0, 365), card_id)
        for owner, card_id in cards
        for _ in range(math.floor(owner.weight * scale + rng.random()))
    ]
    plan.sort(key=lambda item: -item[0])
    for serial, (days_ago, card_id) in enumerate(plan):
        category = rng.choices(range(len(CATEGORIES)), CATEGORY_WEIGHTS)[0]
        when = as_of - timedelta(days=days_ago)
        yield (
            uuid.UUID(int=rng.getrandbits(128), version=4),
            card_id,
            max(100, int(rng.lognormvariate(10, 1.2))),
            "CNY",
            MERCHANTS[category],
            CATEGORIES[category],
            "pos",
            when,
            f"bench-{serial}",
            when,
        )


async def reference_rows(database: Database) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """The tiers (as the demo has them) and branches; returns their ids, lowest tier first."""
    tiers, branches = reference_tiers(), reference_branches()
    async with database.session() as session:
        session.add_all([*tiers, *branches])
        await session.commit()
    return [t.id for t in sorted(tiers, key=lambda t: t.rank)], [b.id for b in branches]


# -- sinks ---------------------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value.hex  # how SQLAlchemy's Uuid stores it on SQLite
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _load_sqlite(path: str, tables: Tables) -> int:
    connection = sqlite3.connect(path)
    loaded = 0
    try:
        connection.execute("PRAGMA synchronous=OFF")
        for table, columns, rows in tables:
            placeholders = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
            for batch in batched(rows, BATCH):
                connection.executemany(sql, [tuple(map(_sqlite_value, row)) for row in batch])
                loaded += len(batch)
            connection.commit()
    finally:
        connection.close()
    return loaded


async def _load_postgres(url: str, tables: Tables) -> int:
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    loaded = 0
    try:
        for table, columns, rows in tables:
            for batch in batched(rows, BATCH):
                await connection.copy_records_to_table(table, records=batch, columns=list(columns))
                loaded += len(batch)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return loaded


async def fill(database: Database, volume: Volume, *, as_of: datetime, seed: int = 1) -> int:
    """Loads the bench data into a migrated, empty database; returns the rows loaded."""
    rng = random.Random(seed)  # bench data, not secrets
    tiers, branches = await reference_rows(database)
    persons = people(rng, volume, as_of)
    cards = cards_of(rng, persons, volume)
    tables = [
        ("customers", CUSTOMER_COLUMNS, customer_rows(rng, persons, tiers, branches)),
        ("cards", CARD_COLUMNS, card_rows(rng, cards)),
        ("transactions", TRANSACTION_COLUMNS, transaction_rows(rng, cards, volume, as_of)),
    ]
    if database.is_sqlite:
        path = str(make_url(database.url).database)
        return await asyncio.to_thread(_load_sqlite, path, tables)
    return await _load_postgres(database.url, tables)
