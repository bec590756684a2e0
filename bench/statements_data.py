"""Throwaway data for timing the statement close: bench.evaluation_data's customers and cards
(~1.5 cards a customer), each card on its own statement day (``cycle_day_for``: 1–28 by id)
with a 20-day grace period, and two cycles of card use before ``as_of``: purchases spread
over both cycles, and the first cycle's bill repaid in the second as a card book does it
(most in full by the due date, some the minimum, a few too little, late or not at all).

Rows go straight into the tables (COPY on PostgreSQL, executemany on SQLite), like
``bench.evaluation_data``; transactions are written in time order, so a card's rows are
scattered over the table as a feed leaves them.
"""

from __future__ import annotations

import asyncio
import calendar
import math
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.engine import make_url

from bench.evaluation_data import (
    CARD_COLUMNS,
    CATEGORIES,
    CATEGORY_WEIGHTS,
    CUSTOMER_COLUMNS,
    MERCHANTS,
    Cards,
    Tables,
    Volume,
    _load_postgres,
    _load_sqlite,
    cards_of,
    customer_rows,
    people,
    reference_rows,
)
from core.database import Database
from models.cards.statement import DEFAULT_DUE_DAYS, cycle_day_for

LOCAL = timedelta(hours=8)  # the bank's zone (Asia/Shanghai): no daylight saving
CARD_STATEMENT_COLUMNS = (*CARD_COLUMNS, "statement_day", "due_days")
TRANSACTION_COLUMNS = (
    "id",
    "card_id",
    "amount_cents",
    "currency",
    "merchant_name",
    "merchant_category",
    "channel",
    "occurred_at",
    "kind",
    "natural_key",
    "created_at",
)
# How cards repay the first cycle's bill: share of cards, and what they pay.
PAYERS = (("full", 70), ("minimum", 18), ("late", 4), ("too_little", 4), ("nothing", 4))
MINIMUM_SHARE = 0.10  # settings.statement_minimum_payment_basis_points' default


def closes_at(day: date) -> datetime:
    """The UTC instant a statement of ``day`` closes: the local midnight after it."""
    return datetime.combine(day + timedelta(days=1), time(), UTC) - LOCAL


def month_back(day: date, months: int) -> date:
    month = day.month - 1 - months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def statement_date(as_of: date, statement_day: int, months_back: int) -> date:
    """The card's statement date ``months_back`` cycles before its last one up to ``as_of``."""
    last = as_of.replace(day=statement_day)
    if statement_day > as_of.day:
        last = month_back(last, 1)
    return month_back(last, months_back)


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
            cycle_day_for(card_id),
            DEFAULT_DUE_DAYS,
        )


Plan = list[tuple[datetime, int, int, bool]]  # when, card index, cents, is a repayment


def _card_plan(rng: random.Random, index: int, card_id: uuid.UUID, n: int, as_of: date) -> Plan:
    day = cycle_day_for(card_id)
    opened, middle, closed = (closes_at(statement_date(as_of, day, back)) for back in (2, 1, 0))
    span = (closed - opened).total_seconds()
    plan: Plan = []
    billed = 0
    for _ in range(n):
        when = opened + timedelta(seconds=rng.uniform(1, span - 1))
        cents = max(100, int(rng.lognormvariate(10, 1.2)))
        plan.append((when, index, cents, False))
        billed += cents if when < middle else 0
    payer = rng.choices([p for p, _ in PAYERS], [w for _, w in PAYERS])[0]
    minimum = math.ceil(billed * MINIMUM_SHARE)
    amount = {"full": billed, "minimum": minimum, "late": billed, "too_little": minimum // 2}
    if billed and payer in amount and amount[payer] > 0:
        days = (
            rng.uniform(DEFAULT_DUE_DAYS + 2, DEFAULT_DUE_DAYS + 8)
            if payer == "late"
            else (rng.uniform(1, DEFAULT_DUE_DAYS - 1))
        )
        plan.append((min(middle + timedelta(days=days), closed), index, amount[payer], True))
    return plan


def transaction_rows(
    rng: random.Random, cards: Cards, volume: Volume, as_of: date
) -> Iterator[tuple[Any, ...]]:
    """About ``volume.transactions`` rows (purchases plus about one repayment a spending
    card), in time order."""
    spenders = sum(1 for owner, _ in cards if owner.weight > 0)
    purchases = max(0, volume.transactions - spenders * 9 // 10)
    scale = purchases / max(1e-9, sum(owner.weight for owner, _ in cards))
    plan: Plan = []
    for index, (owner, card_id) in enumerate(cards):
        count = math.floor(owner.weight * scale + rng.random())
        if count:
            plan.extend(_card_plan(rng, index, card_id, count, as_of))
    plan.sort(key=lambda item: (item[0], item[1]))
    for serial, (when, index, cents, repayment) in enumerate(plan):
        category = 7 if repayment else rng.choices(range(len(CATEGORIES)), CATEGORY_WEIGHTS)[0]
        yield (
            uuid.UUID(int=rng.getrandbits(128), version=4),
            cards[index][1],
            cents,
            "CNY",
            "还款" if repayment else MERCHANTS[category],
            CATEGORIES[category],
            "online" if repayment else "pos",
            when,
            "repayment" if repayment else "purchase",
            f"bench-{serial}",
            when,
        )


async def fill(database: Database, volume: Volume, *, as_of: date, seed: int = 1) -> int:
    """Loads the data into a migrated, empty database; returns the rows loaded."""
    rng = random.Random(seed)  # bench data, not secrets
    tiers, branches = await reference_rows(database)
    instant = closes_at(as_of)
    persons = people(rng, volume, instant - timedelta(days=90))
    cards = cards_of(rng, persons, volume)
    tables: Tables = [
        ("customers", CUSTOMER_COLUMNS, customer_rows(rng, persons, tiers, branches)),
        ("cards", CARD_STATEMENT_COLUMNS, card_rows(rng, cards)),
        ("transactions", TRANSACTION_COLUMNS, transaction_rows(rng, cards, volume, as_of)),
    ]
    if database.is_sqlite:
        path = str(make_url(database.url).database)
        return await asyncio.to_thread(_load_sqlite, path, tables)
    return await _load_postgres(database.url, tables)
