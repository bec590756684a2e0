"""Demo transaction files: a year of plausible card spending for the cards in the database.

Each customer gets a *persona* (from a hash of the seed and their id, so it does not depend on
the order cards are read in): diners, travellers, shoppers, big spenders and everyday
high-frequency users spend all year; *fading* customers spend far less in the last 90 days
than before; *quiet*, *dormant* and *lapsed* ones stopped 45-85, 90-170 and 180-300 days ago;
*recent* ones started lately. So evaluating after an import gives varied stages, churn
reasons and segments. Only activated (or since frozen) cards spend, from their activation
until they were frozen or blocked.

Besides purchases, each card repays its bills (``api.demo.billing``: most in full or the
minimum by the due date, a few late, too little or not at all) and a few cards show the
patterns the fraud rules look for (``api.demo.fraud``: a burst, an amount far above the
usual, a first foreign currency, a new category in the night, a frozen card in use).

The output is written as it is generated, in time order (to the day) across all cards: each
card's times come out already sorted (descending uniform order statistics,
``M ← M·U^(1/i)``, need no list), and ``heapq.merge`` interleaves the cards. Memory holds the
cards, never the rows. For one seed, end date and database the file is the same on every run.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import heapq
import json
import math
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.demo.billing import (
    CHINA,
    Account,
    cents_of,
    payer_for,
    repayment_row,
    repayment_times,
    statement_closes,
)
from api.demo.fraud import pattern_events, pattern_rows
from core.encryption import KeyRing
from core.money import yuan_text
from models.cards.card import Card, CardStatus
from models.customer_keys import load_customer_keys
from models.sealing import open_field
from models.transactions.transaction import MerchantCategory as C
from resolvers.transactions.rows import FIELDS, TransactionChannel

REFERENCE_SHARE = 0.9  # the rest are keyed by their content (see transaction_rows)
# Only an active card's transactions are booked (resolvers/transactions/ingest.py); frozen
# and blocked cards spent until they were stopped, and one is tried after (a refused row).
SPENDING_STATUSES = (CardStatus.ACTIVATED, CardStatus.FROZEN, CardStatus.BLOCKED)

# category: (median amount in yuan, log-normal sigma, merchants, channel weights, hours)
_POS, _ONLINE, _MOBILE, _ATM = (c.value for c in TransactionChannel)
_CATEGORIES: dict[C, tuple[float, float, tuple[str, ...], dict[str, int], tuple[int, ...]]] = {
    C.DINING: (
        85,
        0.6,
        ("海底捞火锅", "星巴克", "麦当劳", "西贝莜面村", "喜茶", "全聚德", "街角咖啡"),
        {_POS: 60, _MOBILE: 35, _ONLINE: 5},
        (8, 12, 12, 13, 18, 19, 19, 20, 21),
    ),
    C.TRAVEL: (
        1200,
        0.8,
        ("中国国际航空", "东方航空", "携程旅行", "华住酒店", "铁路12306", "云途旅行"),
        {_ONLINE: 60, _MOBILE: 30, _POS: 10},
        (9, 10, 14, 16, 21, 22),
    ),
    C.SHOPPING: (
        260,
        0.8,
        ("京东商城", "天猫", "优衣库", "万达广场", "屈臣氏", "无印良品"),
        {_POS: 40, _ONLINE: 35, _MOBILE: 25},
        (10, 14, 15, 16, 20, 21, 22),
    ),
    C.ELECTRONICS: (
        2200,
        0.7,
        ("苹果零售店", "华为体验店", "小米之家", "苏宁易购", "数码港"),
        {_ONLINE: 50, _POS: 40, _MOBILE: 10},
        (11, 15, 16, 20, 21),
    ),
    C.GROCERY: (
        120,
        0.6,
        ("盒马鲜生", "永辉超市", "沃尔玛", "家乐福", "物美超市"),
        {_POS: 55, _MOBILE: 45},
        (8, 9, 17, 18, 19, 20),
    ),
    C.ENTERTAINMENT: (
        150,
        0.6,
        ("万达影城", "大麦网", "纯K", "腾讯视频", "欢乐谷"),
        {_MOBILE: 50, _ONLINE: 30, _POS: 20},
        (14, 19, 20, 21, 22),
    ),
    C.FUEL: (
        280,
        0.3,
        ("中国石化", "中国石油", "壳牌加油站"),
        {_POS: 80, _MOBILE: 20},
        (7, 8, 17, 18),
    ),
    C.OTHER: (
        90,
        0.9,
        ("中国移动", "国家电网", "美团", "滴滴出行", "ATM 取现"),
        {_MOBILE: 40, _ONLINE: 30, _POS: 20, _ATM: 10},
        (9, 10, 12, 15, 18, 20),
    ),
}

# Spending habits: category → weight.
_MIXES: dict[str, dict[C, int]] = {
    "diner": {C.DINING: 55, C.GROCERY: 15, C.ENTERTAINMENT: 10, C.SHOPPING: 10, C.OTHER: 10},
    "traveller": {C.TRAVEL: 45, C.DINING: 20, C.SHOPPING: 15, C.FUEL: 10, C.OTHER: 10},
    "shopper": {C.SHOPPING: 45, C.ELECTRONICS: 15, C.DINING: 15, C.GROCERY: 15, C.OTHER: 10},
    "big_spender": {C.ELECTRONICS: 40, C.TRAVEL: 25, C.SHOPPING: 25, C.DINING: 10},
    "everyday": {C.GROCERY: 35, C.DINING: 25, C.FUEL: 20, C.OTHER: 10, C.ENTERTAINMENT: 10},
}


@dataclass(frozen=True)
class Persona:
    name: str
    share: int  # of customers, in percent
    activity: float  # relative number of transactions
    mix: str | None  # None: one of the habits, picked per customer
    scale: float = 1.0  # multiplies every amount
    gap_days: tuple[int, int] = (0, 0)  # silent for this long before the end
    recent_days: tuple[int, int] | None = None  # spending only in this last stretch
    fading: bool = False  # 93% of spending before the last 90 days


PERSONAS = (
    Persona("diner", 16, 1.2, "diner"),
    Persona("traveller", 10, 0.8, "traveller", scale=1.3),
    Persona("shopper", 14, 1.0, "shopper"),
    Persona("big_spender", 6, 0.7, "big_spender", scale=2.0),
    Persona("everyday", 16, 2.5, "everyday", scale=0.6),
    Persona("fading", 12, 1.0, None, fading=True),
    Persona("quiet", 6, 0.8, None, gap_days=(45, 85)),
    Persona("dormant", 8, 0.6, None, gap_days=(90, 170)),
    Persona("lapsed", 6, 0.5, None, gap_days=(180, 300)),
    Persona("recent", 6, 0.8, None, recent_days=(20, 80)),
)
_FADING_CUTOFF_DAYS = 90
_FADING_EARLY_SHARE = 0.93


@dataclass(frozen=True)
class DemoCard:
    id: uuid.UUID
    customer_id: uuid.UUID
    active_from: datetime
    pan: str | None = None
    statement_day: int = 1
    due_days: int = 20
    active_until: datetime | None = None  # when a frozen or blocked card was stopped


@dataclass(frozen=True)
class Plan:
    """What one card will spend: how often, on what, how much, and over which span."""

    card: DemoCard
    persona: Persona
    mix: dict[C, int]
    start: datetime
    end: datetime
    weight: float


async def load_cards(
    session: AsyncSession, ring: KeyRing, *, with_pans: bool = False
) -> list[DemoCard]:
    """The cards that can spend, by id; PANs decrypted (in a thread) only when asked for."""
    rows = list(
        await session.scalars(
            select(Card)
            .where(col(Card.status).in_([status.value for status in SPENDING_STATUSES]))
            .order_by(col(Card.id))
        )
    )
    if with_pans:
        await load_customer_keys(session, ring, [row.customer_id for row in rows])

    def build() -> list[DemoCard]:
        return [
            DemoCard(
                id=row.id,
                customer_id=row.customer_id,
                active_from=row.activated_at or row.issued_at or row.created_at,
                pan=open_field(ring, row, "pan") if with_pans else None,
                statement_day=row.statement_day,
                due_days=row.due_days,
                active_until=None if row.status == CardStatus.ACTIVATED else row.updated_at,
            )
            for row in rows
        ]

    return await asyncio.to_thread(build)


def _persona(seed: int, customer_id: uuid.UUID) -> tuple[Persona, random.Random]:
    """The customer's persona and a generator of their own (same for all their cards)."""
    digest = hashlib.sha256(f"{seed}:{customer_id}".encode()).digest()
    own = random.Random(int.from_bytes(digest[:8]))  # noqa: S311 - demo data, not secrets
    persona = own.choices(PERSONAS, weights=[p.share for p in PERSONAS])[0]
    return persona, own


def _plan(card: DemoCard, seed: int, window_start: datetime, end: datetime) -> Plan:
    persona, own = _persona(seed, card.customer_id)
    mix = _MIXES[persona.mix or own.choice(sorted(_MIXES))]
    start = max(window_start, card.active_from)
    if persona.recent_days is not None:
        start = max(start, end - timedelta(days=own.randint(*persona.recent_days)))
    stop = end - timedelta(days=own.randint(*persona.gap_days))
    if card.active_until is not None:
        stop = min(stop, card.active_until)
    span = max(0.0, (stop - start).total_seconds()) / max(1.0, (end - window_start).total_seconds())
    weight = persona.activity * own.lognormvariate(0, 0.4) * span
    return Plan(card, persona, mix, start, stop, weight)


def _allocate(weights: Sequence[float], total: int) -> list[int]:
    """``total`` split in proportion to ``weights``, exactly (largest remainders)."""
    whole = sum(weights)
    if whole <= 0:
        return [0] * len(weights)
    shares = [total * w / whole for w in weights]
    counts = [math.floor(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _position(plan: Plan, x: float) -> datetime:
    """Where fraction ``x`` of the card's spending falls in its span (monotone in ``x``)."""
    if plan.persona.fading:
        cutoff = plan.end - timedelta(days=_FADING_CUTOFF_DAYS)
        if cutoff > plan.start:
            p = _FADING_EARLY_SHARE
            if x < p:
                return plan.start + (cutoff - plan.start) * (x / p)
            return cutoff + (plan.end - cutoff) * ((x - p) / (1 - p))
    return plan.start + (plan.end - plan.start) * x


def _times(plan: Plan, count: int, rng: random.Random) -> Iterator[datetime]:
    """``count`` times in the plan's span, ascending, without holding them."""
    largest = 1.0
    for remaining in range(count, 0, -1):
        largest *= rng.random() ** (1.0 / remaining)
        yield _position(plan, 1.0 - largest)


def _row(
    plan: Plan, moment: datetime, rng: random.Random, pan_share: float, reference: str
) -> dict[str, str]:
    category = rng.choices(list(plan.mix), weights=list(plan.mix.values()))[0]
    median, sigma, merchants, channels, hours = _CATEGORIES[category]
    yuan = median * plan.persona.scale * rng.lognormvariate(0, sigma)
    cents = min(max(100, round(yuan * 100)), 20_000_000)
    local = moment.astimezone(CHINA).replace(
        hour=rng.choice(hours), minute=rng.randrange(60), second=rng.randrange(60), microsecond=0
    )
    if local > plan.end:  # a typical hour for the category, but within the card's span
        local -= timedelta(days=1)
    elif local < plan.start:
        local += timedelta(days=1)
    card = plan.card
    by_pan = card.pan is not None and rng.random() < pan_share
    return {
        "card_id": "" if by_pan else str(card.id),
        "pan": card.pan if by_pan and card.pan else "",
        "amount": yuan_text(cents),
        "currency": "CNY",
        "merchant": rng.choice(merchants),
        "merchant_category": category.value,
        "channel": rng.choices(list(channels), weights=list(channels.values()))[0],
        "time": local.isoformat(),
        "reference": reference if rng.random() < REFERENCE_SHARE else "",
    }


def usual_yuan(plan: Plan) -> float:
    """The card's typical amount: its main category's median, scaled by its persona."""
    top = max(plan.mix, key=lambda category: plan.mix[category])
    return _CATEGORIES[top][0] * plan.persona.scale


def _account(plan: Plan, seed: int, end: datetime, basis_points: int) -> Account:
    closes = statement_closes(plan.card.statement_day, plan.start, end)
    return Account(payer_for(seed, plan.card.customer_id), closes, basis_points)


def generate_rows(
    cards: Sequence[DemoCard],
    *,
    rows: int,
    seed: int,
    end: datetime,
    days: int = 365,
    pan_share: float = 0.0,
    minimum_basis_points: int = 1000,
    stopped_history: bool = False,
) -> Iterator[dict[str, str]]:
    """Exactly ``rows`` purchases (if any card can spend) over ``days`` before ``end``, with
    the cards' repayments and a few fraud patterns among them, in time order.

    A frozen or blocked card's history before it was stopped comes only with
    ``stopped_history`` (the seed books it while the card was active; a file imported now
    would have it refused): otherwise such a card only shows up in a refused attempt."""
    window_start = end - timedelta(days=days)
    plans = [_plan(card, seed, window_start, end) for card in cards]
    if not stopped_history:
        plans = [replace(p, weight=0.0) if p.card.active_until else p for p in plans]
    counts = _allocate([plan.weight for plan in plans], rows)
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    accounts = {p.card.id.int: _account(p, seed, end, minimum_basis_points) for p in plans}

    def card_stream(plan: Plan, count: int) -> Iterator[tuple[datetime, int, Plan, str]]:
        account = accounts[plan.card.id.int]
        due = plan.card.due_days
        # Repayments go on after the card stopped spending (or was frozen): bills are paid.
        repays = repayment_times(account.payer, account.closes, due, end, rng)
        purchases = ((moment, "purchase") for moment in _times(plan, count, rng))
        repayments = ((moment, "repayment") for moment in repays)
        for moment, kind in heapq.merge(purchases, repayments):
            yield moment, plan.card.id.int, plan, kind

    streams: list[Iterator[tuple[datetime, int, Plan, str]]] = [
        card_stream(p, n) for p, n in zip(plans, counts, strict=True) if n
    ]
    streams.append(iter(pattern_events(plans, seed, end)))
    # References unique to this file: another seed, size or span never reuses one.
    tag = hashlib.sha256(f"{seed}|{rows}|{days}|{end.isoformat()}".encode()).hexdigest()[:8]
    merged = heapq.merge(*streams, key=lambda item: (item[0], item[1]))
    for number, event in enumerate(merged, start=1):
        moment, card_int, plan, kind = event
        account, reference = accounts[card_int], f"DEMO-{tag}-{number}"
        if kind == "purchase":
            row = _row(plan, moment, rng, pan_share, reference)
            account.purchase(moment, cents_of(row["amount"]))
            yield row
        elif kind == "repayment":
            cents = account.repayment(moment)
            if cents > 0:
                yield repayment_row(str(plan.card.id), moment, cents, reference)
        else:
            for row in pattern_rows(event, usual_yuan(plan), rng, reference):
                if kind != "refused" and row["currency"] == "CNY":
                    account.purchase(moment, cents_of(row["amount"]))
                yield row


def write_csv(rows: Iterator[dict[str, str]], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    written = 0
    for row in rows:
        writer.writerow(row)
        written += 1
    return written


def write_jsonl(rows: Iterator[dict[str, str]], out: TextIO) -> int:
    written = 0
    for row in rows:
        out.write(json.dumps({k: v for k, v in row.items() if v}, ensure_ascii=False) + "\n")
        written += 1
    return written


def start_of_day(day: datetime | None = None) -> datetime:
    """Midnight UTC of ``day`` (default today): the default end of a generated year."""
    moment = (day or datetime.now(UTC)).astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
