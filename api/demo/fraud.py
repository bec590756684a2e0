"""The fraud patterns in the demo transaction files: a few cards (picked by a hash of the seed
and the card id) each show one pattern the risk rules look for, in the last weeks before the
end, so a fresh demo has alerts to work:

- ``burst``: six online purchases on one card within ten minutes (velocity);
- ``spike``: one purchase some forty times the card's usual amount;
- ``foreign``: a first purchase in US dollars;
- ``night``: a purchase in a category the customer never uses, between 02:00 and 04:00;
- ``refused``: a frozen or blocked card used after it was stopped (the import refuses the
  row; the risk rules see the attempt).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from api.demo.billing import CHINA
from core.money import yuan_text
from models.transactions.transaction import MerchantCategory as C

PATTERNS = ("burst", "spike", "foreign", "night")
BURST_ROWS = 6
BURST_GAP_SECONDS = (40, 100)  # five gaps: at most 500 s, inside ten minutes
SPIKE_FACTOR = 40
MAX_YUAN = 199_000
REFUSED_CARDS = 3
_MIN_SPAN = timedelta(days=60)  # a pattern card has a history to stand out from
_NIGHT_CATEGORIES = (C.ELECTRONICS, C.TRAVEL, C.ENTERTAINMENT, C.FUEL, C.SHOPPING, C.DINING)
_NIGHT_MERCHANTS = {
    C.ELECTRONICS: "数码港",
    C.TRAVEL: "携程旅行",
    C.ENTERTAINMENT: "纯K",
    C.FUEL: "中国石化",
    C.SHOPPING: "天猫",
    C.DINING: "海底捞火锅",
}


class Card(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def active_until(self) -> datetime | None: ...


class Plan(Protocol):
    """What a pattern needs of a card's plan (``api.demo.transactions.Plan``)."""

    @property
    def card(self) -> Card: ...
    @property
    def mix(self) -> Mapping[C, int]: ...
    @property
    def weight(self) -> float: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...


Event = tuple[datetime, int, Plan, str]
P = TypeVar("P", bound=Plan)


def _rank(seed: int, plan: Plan) -> bytes:
    return hashlib.sha256(f"fraud:{seed}:{plan.card.id}".encode()).digest()


def _local(end: datetime, rng: random.Random, hour: int) -> datetime:
    day = (end - timedelta(days=rng.randint(2, 25))).astimezone(CHINA)
    return day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)


def pattern_events(
    plans: Sequence[P], seed: int, end: datetime
) -> list[tuple[datetime, int, P, str]]:
    """Which cards show which pattern, and when (sorted by time)."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    spending = [
        p
        for p in plans
        if p.weight > 0 and p.card.active_until is None and p.end >= end - timedelta(days=1)
    ]
    spending = [p for p in spending if p.end - p.start >= _MIN_SPAN]
    spending.sort(key=lambda p: _rank(seed, p))
    each = 1 + len(spending) // 150  # a few per pattern, more on a bigger book
    events: list[tuple[datetime, int, P, str]] = []
    for number, plan in enumerate(spending[: each * len(PATTERNS)]):
        pattern = PATTERNS[number % len(PATTERNS)]
        hour = rng.randint(2, 3) if pattern == "night" else rng.randint(10, 21)
        events.append((_local(end, rng, hour), plan.card.id.int, plan, pattern))
    stopped = [p for p in plans if p.card.active_until is not None]
    stopped.sort(key=lambda p: _rank(seed, p))
    for plan in stopped[:REFUSED_CARDS]:
        assert plan.card.active_until is not None
        moment = plan.card.active_until + timedelta(days=rng.uniform(0.5, 4))
        if moment < end:
            events.append((moment, plan.card.id.int, plan, "refused"))
    return sorted(events, key=lambda event: (event[0], event[1]))


def pattern_rows(
    event: Event, usual_yuan: float, rng: random.Random, reference: str
) -> list[dict[str, str]]:
    """The rows of one pattern (``reference`` numbers them); ``usual_yuan`` is the card's
    typical amount."""
    moment, _, plan, pattern = event
    card = str(plan.card.id)

    def row(at: datetime, yuan: float, category: C, merchant: str, **extra: str) -> dict[str, str]:
        cents = min(max(100, round(yuan * 100)), MAX_YUAN * 100)
        return {
            "card_id": card,
            "pan": "",
            "amount": yuan_text(cents),
            "currency": "CNY",
            "merchant": merchant,
            "merchant_category": category.value,
            "channel": "online",
            "time": at.astimezone(CHINA).isoformat(),
            "kind": "purchase",
            **extra,
        }

    if pattern == "burst":
        rows, at = [], moment
        for _ in range(BURST_ROWS):
            rows.append(
                row(at, rng.uniform(300, 900), C.SHOPPING, rng.choice(("京东商城", "天猫")))
            )
            at += timedelta(seconds=rng.randint(*BURST_GAP_SECONDS))
    elif pattern == "spike":
        big = max(30_000.0, usual_yuan * SPIKE_FACTOR)
        rows = [row(moment, big, C.ELECTRONICS, "苹果零售店", channel="pos")]
    elif pattern == "foreign":
        rows = [row(moment, rng.uniform(120, 400), C.SHOPPING, "Amazon.com", currency="USD")]
    elif pattern == "night":
        new = next((c for c in _NIGHT_CATEGORIES if c not in plan.mix), C.OTHER)
        rows = [row(moment, usual_yuan * 2, new, _NIGHT_MERCHANTS.get(new, "美团"))]
    else:  # refused: the stopped card tried at a till
        rows = [row(moment, rng.uniform(50, 400), C.DINING, "街角咖啡", channel="pos")]
    return [{**r, "reference": f"{reference}-{n}"} for n, r in enumerate(rows, start=1)]
