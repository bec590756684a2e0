"""A card's overdue standing: days past due and overdue bucket, from its statements.

The statements missed since the card's last one paid by its due date form its unpaid run;
the card is current when there is none, or when the repayments since the run's first close
cover the run's minimum payments (cured); else its days past due count from the run's first
due date, and the bucket is M1 for 1–30 days, M2 for 31–60, … M6 for 151–180, M6+ beyond.

``update_standing`` runs three set-based UPDATEs: over every card (``statements close``), or
over the cards given (a batch of imported repayments, as of now: a repayment that covers
what is overdue makes its card current at once).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, Table, case, func, literal, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from models.cards.card import Card
from models.cards.statement import OverdueBucket, Statement
from models.transactions.transaction import Transaction, TransactionKind
from resolvers.cards.calendar import days_between

CARDS: Table = Card.__table__  # type: ignore[attr-defined]
STATEMENTS: Table = Statement.__table__  # type: ignore[attr-defined]
TRANSACTIONS: Table = Transaction.__table__  # type: ignore[attr-defined]
DAYS_PER_BUCKET = 30
# The buckets past current, in order: M1 … M6, then M6+ for everything beyond.
LATE_BUCKETS: Sequence[OverdueBucket] = tuple(OverdueBucket)[1:]


def bucket_of(days: ColumnElement[Any]) -> ColumnElement[Any]:
    steps = [
        (days <= DAYS_PER_BUCKET * (n + 1), bucket.value)
        for n, bucket in enumerate(LATE_BUCKETS[:-1])
    ]
    return case((days <= 0, OverdueBucket.CURRENT.value), *steps, else_=LATE_BUCKETS[-1].value)


def among(column: Any, card_ids: Collection[uuid.UUID] | None) -> ColumnElement[bool]:
    """``column`` is one of ``card_ids``; anything when ``card_ids`` is None (every card)."""
    return true() if card_ids is None else column.in_(sorted(card_ids))


def unpaid_run(card_ids: Collection[uuid.UUID] | None = None) -> Any:
    """(card_id, first_due, first_close, owed): each card's unpaid run, the statements not
    paid by their due date since its last one that was, with the minimum payments it owes."""
    s = STATEMENTS.c
    paid = STATEMENTS.alias("paid")
    last_paid = (
        select(func.max(paid.c.closes_at))
        .where(paid.c.card_id == s.card_id, paid.c.paid_by_due.is_(True))
        .scalar_subquery()
    )
    return (
        select(
            s.card_id,
            func.min(s.due_date).label("first_due"),
            func.min(s.closes_at).label("first_close"),
            func.sum(s.minimum_payment_cents).label("owed"),
        )
        .where(
            s.paid_by_due.is_(False),
            or_(last_paid.is_(None), s.closes_at > last_paid),
            among(s.card_id, card_ids),
        )
        .group_by(s.card_id)
        .subquery()
    )


def repaid_since_run(run: Any, closes_at: datetime) -> Any:
    """What each card of ``run`` repaid from the run's first close to ``closes_at``."""
    t = TRANSACTIONS.c
    return (
        select(func.coalesce(func.sum(t.amount_cents), 0))
        .where(
            t.card_id == run.c.card_id,
            t.kind == TransactionKind.REPAYMENT,
            t.occurred_at >= run.c.first_close,
            t.occurred_at < closes_at,
        )
        .scalar_subquery()
    )


async def update_standing(
    session: AsyncSession,
    as_of: date,
    closes_at: datetime,
    card_ids: Collection[uuid.UUID] | None = None,
) -> None:
    """Every card's (or the given cards') days past due and bucket as of the local day
    ``as_of``, counting the repayments before ``closes_at`` (uncommitted)."""
    if card_ids is not None and not card_ids:
        return
    c = CARDS.c
    run = unpaid_run(card_ids)
    repaid = repaid_since_run(run, closes_at)
    late = days_between(literal(as_of, Date), run.c.first_due)
    standing = select(
        run.c.card_id,
        case((repaid >= run.c.owed, 0), (late < 0, 0), else_=late).label("days"),
    ).subquery()
    await session.execute(
        update(CARDS)
        .where(c.id == standing.c.card_id, c.days_past_due != standing.c.days)
        .values(days_past_due=standing.c.days)
    )
    await session.execute(
        update(CARDS)
        .where(
            c.days_past_due != 0,
            c.id.not_in(select(run.c.card_id)),
            among(c.id, card_ids),
        )
        .values(days_past_due=0)
    )
    await session.execute(
        update(CARDS)
        .where(c.overdue_bucket != bucket_of(c.days_past_due), among(c.id, card_ids))
        .values(overdue_bucket=bucket_of(c.days_past_due))
    )


def today_closes(settings: Settings, now: datetime) -> tuple[date, datetime]:
    """The bank's local day of ``now`` and the instant it ends (its next local midnight)."""
    zone = ZoneInfo(settings.contact_timezone)
    today = now.astimezone(zone).date()
    ends = datetime.combine(today + timedelta(days=1), datetime.min.time(), zone)
    return today, ends.astimezone(now.tzinfo)


async def update_standing_now(
    session: AsyncSession, settings: Settings, card_ids: Collection[uuid.UUID], now: datetime
) -> tuple[date, datetime]:
    """The given cards' standing as of ``now`` (the repayments booked so far count); returns
    the local day and its end, for what is synced after it."""
    as_of, closes_at = today_closes(settings, now)
    await update_standing(session, as_of, closes_at, card_ids)
    return as_of, closes_at
