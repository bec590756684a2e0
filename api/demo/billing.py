"""Repayments in the demo transaction files: each card repays its bills the way its customer
does, on the card's own statement days, so ``cardcrm statements close`` finds most cards
current and a few per cent overdue.

A customer's *payer* habit comes from a hash of the seed and their id: most pay the bill in
full or the minimum before the due date; a few pay late (after the due date), too little (a
third of the minimum) or stopped paying some months before the end (so the overdue buckets
from M1 to M4 have cards). A bill is what ``close_statements`` computes: the balance at
the statement's close (purchases less repayments so far), whose minimum is the configured
share of it rounded up to the fen.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

from core.money import yuan_text
from models.transactions.transaction import MerchantCategory, TransactionKind

CHINA = timezone(timedelta(hours=8))  # the bank's day (settings.contact_timezone, no DST)
REPAYMENT_MERCHANT = "信用卡还款"
# habit: share of customers in percent
PAYERS = (("full", 62), ("minimum", 28), ("late", 5), ("too_little", 2), ("stopped", 3))
_STOPPED_MONTHS = (1, 4)  # a stopped payer's last repayment was this many months ago


@dataclass(frozen=True)
class Payer:
    habit: str
    stopped_months: int = 0


def payer_for(seed: int, customer_id: uuid.UUID) -> Payer:
    digest = hashlib.sha256(f"payer:{seed}:{customer_id}".encode()).digest()
    own = random.Random(int.from_bytes(digest[:8]))  # noqa: S311 - demo data, not secrets
    habit = own.choices([h for h, _ in PAYERS], weights=[w for _, w in PAYERS])[0]
    return Payer(habit, own.randint(*_STOPPED_MONTHS) if habit == "stopped" else 0)


def statement_closes(statement_day: int, start: datetime, end: datetime) -> list[datetime]:
    """The instants the card's statements close in ``[start, end)``: the local midnight after
    each statement date (as ``close_statements`` closes them)."""
    closes: list[datetime] = []
    local = start.astimezone(CHINA)
    year, month = local.year, local.month
    while True:
        day = date(year, month, min(statement_day, calendar.monthrange(year, month)[1]))
        instant = datetime.combine(day + timedelta(days=1), time(), CHINA).astimezone(UTC)
        if instant >= end:
            return closes
        if instant >= start:
            closes.append(instant)
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)


def repayment_times(
    payer: Payer, closes: list[datetime], due_days: int, end: datetime, rng: random.Random
) -> Iterator[datetime]:
    """When the card repays each bill: before its due day, or after it for late payers;
    stopped payers skip their last months' bills."""
    stop = end - timedelta(days=30 * payer.stopped_months) if payer.habit == "stopped" else end
    for closed in closes:
        if closed >= stop:
            return
        if payer.habit == "late":
            days = rng.randint(due_days + 2, due_days + 7)
        else:
            days = rng.randint(1, max(1, due_days - 2))
        # ``closed`` is a local midnight: the repayment comes in between 08:00 and 22:00.
        moment = closed + timedelta(days=days, seconds=rng.randrange(8 * 3600, 22 * 3600))
        if moment < end:
            yield moment


@dataclass
class Account:
    """A card's running balance as the rows come out in time order: the bill of each close
    is the balance at that instant."""

    payer: Payer
    closes: list[datetime]
    minimum_basis_points: int
    balance: int = 0
    billed: int = 0
    _next: int = field(default=0, repr=False)

    def _advance(self, moment: datetime) -> None:
        while self._next < len(self.closes) and self.closes[self._next] <= moment:
            self.billed = self.balance
            self._next += 1

    def purchase(self, moment: datetime, cents: int) -> None:
        self._advance(moment)
        self.balance += cents

    def repayment(self, moment: datetime) -> int:
        """The amount repaid at ``moment`` for the last bill (0: nothing to repay)."""
        self._advance(moment)
        bill = min(self.billed, self.balance)
        if bill <= 0:
            return 0
        minimum = math.ceil(bill * self.minimum_basis_points / 10_000)
        amount = {"minimum": minimum, "too_little": minimum // 3}.get(self.payer.habit, bill)
        self.balance -= amount
        return amount


def cents_of(amount: str) -> int:
    return int(Decimal(amount) * 100)


def repayment_row(card_id: str, moment: datetime, cents: int, reference: str) -> dict[str, str]:
    return {
        "card_id": card_id,
        "pan": "",
        "amount": yuan_text(cents),
        "currency": "CNY",
        "merchant": REPAYMENT_MERCHANT,
        "merchant_category": MerchantCategory.OTHER.value,
        "channel": "mobile",
        "time": moment.astimezone(CHINA).replace(microsecond=0).isoformat(),
        "reference": reference,
        "kind": TransactionKind.REPAYMENT.value,
    }
