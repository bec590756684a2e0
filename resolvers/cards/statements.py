"""Closing card statements and the overdue standing they give each card.

``close_statements(as_of)`` runs a constant number of set-based statements, whatever the
number of cards (no per-card Python loop):

1. **settle**: every statement whose due day has ended by the close gets ``paid_by_due``:
   whether the repayments from its close to the end of its due day reached its minimum;
2. **close**: one ``INSERT … SELECT`` writes a statement for every card whose statement day
   is the as-of date's day. The cycle opens where the card's previous statement closed (a
   first statement carries everything before it) and ends with the as-of local day.
   Statement balance = previous statement balance + purchases − refunds − repayments of the
   cycle; minimum payment = the configured share of it (rounded up to the fen) plus fees
   (none yet), never above the balance, 0 when the balance is 0 or less; due date = the
   statement date + the card's ``due_days``. The key (card, cycle end) makes a second close
   of the same day write nothing;
3. **standing**: every card's days past due and overdue bucket (resolvers/cards/standing.py,
   which a batch of imported repayments runs for its cards too).

Days are the bank's (``settings.contact_timezone``): the as-of date ends at its local
midnight.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Table,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from models.cards.card import Card
from models.cards.statement import OverdueBucket, Statement
from models.columns import UTCDateTime, utcnow
from models.transactions.transaction import Transaction, TransactionKind
from resolvers.cards.calendar import instant_plus_days, plus_days
from resolvers.cards.standing import LATE_BUCKETS, update_standing

CLOSE_ACTION = "statements.close"
CARDS: Table = Card.__table__  # type: ignore[attr-defined]
STATEMENTS: Table = Statement.__table__  # type: ignore[attr-defined]
TRANSACTIONS: Table = Transaction.__table__  # type: ignore[attr-defined]
FEES_CENTS = 0  # no fees are charged yet; the minimum payment adds them when there are


@dataclass
class CloseSummary:
    as_of: date
    closed: int = 0
    settled: int = 0
    overdue: dict[str, int] = field(default_factory=dict)

    def details(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "statements_closed": self.closed,
            "statements_settled": self.settled,
            "cards_overdue": dict(self.overdue),
        }

    def line(self) -> str:
        overdue = sum(self.overdue.values())
        buckets = ", ".join(f"{name} {n}" for name, n in self.overdue.items()) or "none"
        return (
            f"closed {self.closed} statements as of {self.as_of.isoformat()}; "
            f"{self.settled} due dates settled; {overdue} cards overdue ({buckets})"
        )


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which ``day`` begins in ``zone``."""
    return datetime.combine(day, time(), zone).astimezone(UTC)


def month_before(day: date) -> date:
    """The same day a month earlier (the last day of that month when it has fewer)."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _sum(amount: ColumnElement[Any], condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, amount), else_=0)), 0)


def _minimum(balance: ColumnElement[Any], basis_points: int) -> ColumnElement[Any]:
    """Share of a positive balance rounded up to the fen, plus fees, never above it."""
    share = (cast(balance, BigInteger) * basis_points + 9_999) // 10_000 + FEES_CENTS
    return case((balance <= 0, 0), (share > balance, balance), else_=share)


async def _settle(session: AsyncSession, closes_at: datetime) -> int:
    s, t = STATEMENTS.c, TRANSACTIONS.c
    repaid = (
        select(func.coalesce(func.sum(t.amount_cents), 0))
        .where(
            t.card_id == s.card_id,
            t.kind == TransactionKind.REPAYMENT,
            t.occurred_at >= s.closes_at,
            t.occurred_at < s.due_ends_at,
        )
        .scalar_subquery()
    )
    result = await session.execute(
        update(STATEMENTS)
        .where(s.paid_by_due.is_(None), s.due_ends_at <= closes_at)
        .values(paid_by_due=repaid >= s.minimum_payment_cents)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _close(session: AsyncSession, as_of: date, closes_at: datetime, basis_points: int) -> int:
    c, t = CARDS.c, TRANSACTIONS.c
    latest = (
        select(STATEMENTS.c.card_id, func.max(STATEMENTS.c.cycle_end).label("cycle_end"))
        .where(STATEMENTS.c.cycle_end < as_of)
        .group_by(STATEMENTS.c.card_id)
        .subquery()
    )
    prev = STATEMENTS.alias("prev")
    in_cycle = and_(
        t.occurred_at < closes_at,
        or_(prev.c.closes_at.is_(None), t.occurred_at >= prev.c.closes_at),
    )
    figures = (
        select(
            c.id.label("card_id"),
            c.due_days,
            prev.c.cycle_end.label("prev_end"),
            prev.c.closes_at.label("prev_closes_at"),
            func.coalesce(prev.c.balance_cents, 0).label("previous"),
            _sum(t.amount_cents, t.kind == TransactionKind.PURCHASE).label("purchases"),
            _sum(t.amount_cents, t.kind == TransactionKind.REFUND).label("refunds"),
            _sum(t.amount_cents, t.kind == TransactionKind.REPAYMENT).label("repayments"),
        )
        .select_from(
            CARDS.outerjoin(latest, latest.c.card_id == c.id)
            .outerjoin(prev, and_(prev.c.card_id == c.id, prev.c.cycle_end == latest.c.cycle_end))
            .outerjoin(TRANSACTIONS, and_(t.card_id == c.id, in_cycle))
        )
        .where(
            c.statement_day == as_of.day,
            ~select(STATEMENTS.c.card_id)
            .where(STATEMENTS.c.card_id == c.id, STATEMENTS.c.cycle_end == as_of)
            .exists(),
        )
        .group_by(c.id, c.due_days, prev.c.cycle_end, prev.c.closes_at, prev.c.balance_cents)
        .subquery()
    )
    f = figures.c
    end = literal(as_of, Date)
    balance = f.previous + f.purchases - f.refunds - f.repayments
    rows = select(
        f.card_id,
        end,
        func.coalesce(plus_days(f.prev_end, 1), literal(month_before(as_of) + timedelta(1), Date)),
        f.prev_closes_at,
        literal(closes_at, UTCDateTime),
        f.previous,
        f.purchases,
        f.refunds,
        f.repayments,
        balance,
        _minimum(balance, basis_points),
        plus_days(end, f.due_days),
        instant_plus_days(literal(closes_at, UTCDateTime), f.due_days),
        literal(utcnow(), UTCDateTime),
    )
    s = STATEMENTS.c
    columns = [
        s.card_id,
        s.cycle_end,
        s.cycle_start,
        s.opens_at,
        s.closes_at,
        s.previous_balance_cents,
        s.purchases_cents,
        s.refunds_cents,
        s.repayments_cents,
        s.balance_cents,
        s.minimum_payment_cents,
        s.due_date,
        s.due_ends_at,
        s.created_at,
    ]
    result = await session.execute(insert(STATEMENTS).from_select(columns, rows))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _record_buckets(session: AsyncSession, as_of: date) -> None:
    """Each statement closed as of ``as_of`` keeps its card's bucket as it closed (the card's
    month-by-month standing, which the roll rates read); one UPDATE."""
    s, c = STATEMENTS.c, CARDS.c
    bucket = select(c.overdue_bucket).where(c.id == s.card_id).scalar_subquery()
    await session.execute(
        update(STATEMENTS)
        .where(s.cycle_end == as_of, or_(s.overdue_bucket.is_(None), s.overdue_bucket != bucket))
        .values(overdue_bucket=bucket)
    )


async def _overdue_counts(session: AsyncSession) -> dict[str, int]:
    c = CARDS.c
    result = await session.execute(
        select(c.overdue_bucket, func.count())
        .where(c.overdue_bucket != OverdueBucket.CURRENT.value)
        .group_by(c.overdue_bucket)
    )
    found = {str(bucket): int(n) for bucket, n in result.all()}
    return {b.value: found[b.value] for b in LATE_BUCKETS if b.value in found}


async def close_statements(
    *, session: AsyncSession, settings: Settings, as_of: date
) -> CloseSummary:
    """Closes ``as_of``'s statements and updates every card's standing (uncommitted: the
    caller commits with its audit entry)."""
    closes_at = local_midnight(as_of + timedelta(days=1), ZoneInfo(settings.contact_timezone))
    summary = CloseSummary(as_of)
    summary.settled = await _settle(session, closes_at)
    summary.closed = await _close(
        session, as_of, closes_at, settings.statement_minimum_payment_basis_points
    )
    # The statements just closed are due later; settle again in case a grace period is 0.
    summary.settled += await _settle(session, closes_at)
    await update_standing(session, as_of, closes_at)
    await _record_buckets(session, as_of)
    summary.overdue = await _overdue_counts(session)
    return summary
