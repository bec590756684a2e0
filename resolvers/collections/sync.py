"""Keeping collection cases in step with the cards' standing, set-based.

``sync_cases(as_of, closes_at)`` runs five statements, whatever the number of cards or cases
(no per-case Python loop), over every card or only the given ones:

1. **card closed**: open cases of closed cards close (``CARD_CLOSED``);
2. **cured**: open cases of cards that are current again close (``CURED``);
3. **broken promises**: a PROMISED case whose promise date is before ``as_of`` and whose
   card's repayments from the promise to the end of its date (bank's local day) did not reach
   the promised amount goes back to OPEN with ``broken_promises`` + 1: a broken promise
   reopens attention. A kept promise leaves the case PROMISED until the standing cures it;
4. **update**: every other open case takes its card's bucket, days past due and overdue
   amount (only where one changed; its version + 1);
5. **open**: one case per card past due (``days_past_due`` > 0, not closed) with no open
   case: branch and customer from the card's customer, opening bucket = bucket.

The overdue amount is what the card's unpaid run owes: the minimum payments of the statements
missed since its last one paid by its due date, less the repayments since the run's first
close (never below 0); the same run as the card's standing (resolvers/cards/standing.py).

The card's standing is computed first: by ``statements close``, or for the cards of a batch
of imported repayments (resolvers/batch_effects.py); the CLI and the batch effect call both.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Table, and_, case, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from models.cards.card import Card, CardStatus
from models.cards.statement import Statement
from models.collections.case import (
    CollectionCase,
    CollectionCloseReason,
    CollectionContact,
    CollectionStatus,
    ContactOutcome,
)
from models.columns import UTCDateTime, utcnow
from models.customers.customer import Customer
from models.transactions.transaction import Transaction, TransactionKind
from resolvers.batch_sql import new_uuid
from resolvers.cards.calendar import days_between, instant_plus_days
from resolvers.cards.standing import among, repaid_since_run, unpaid_run

SWEEP_ACTION = "collections.sweep"
CASES: Table = CollectionCase.__table__  # type: ignore[attr-defined]
CONTACTS: Table = CollectionContact.__table__  # type: ignore[attr-defined]
CARDS: Table = Card.__table__  # type: ignore[attr-defined]
CUSTOMERS: Table = Customer.__table__  # type: ignore[attr-defined]
STATEMENTS: Table = Statement.__table__  # type: ignore[attr-defined]
TRANSACTIONS: Table = Transaction.__table__  # type: ignore[attr-defined]
CLOSED = CollectionStatus.CLOSED.value
# Every card (None), or only these.
CardIds = Collection[uuid.UUID] | None


@dataclass
class SyncSummary:
    opened: int = 0
    updated: int = 0
    cured: int = 0
    card_closed: int = 0
    promises_broken: int = 0

    def details(self) -> dict[str, Any]:
        return {
            "cases_opened": self.opened,
            "cases_updated": self.updated,
            "cases_cured": self.cured,
            "cases_card_closed": self.card_closed,
            "promises_broken": self.promises_broken,
        }

    def line(self) -> str:
        return (
            f"collection cases: {self.opened} opened, {self.updated} updated, {self.cured} "
            f"cured, {self.card_closed} closed with their card, {self.promises_broken} "
            "broken promises reopened"
        )


def _overdue(closes_at: datetime, card_ids: CardIds) -> Any:
    """(card_id, amount): what each card's unpaid run still owes before ``closes_at``."""
    run = unpaid_run(card_ids)
    repaid = repaid_since_run(run, closes_at)
    left = run.c.owed - repaid
    return select(run.c.card_id, case((left > 0, left), else_=0).label("amount")).subquery()


def _open_cases(card_ids: CardIds) -> list[Any]:
    return [CASES.c.status != CLOSED, among(CASES.c.card_id, card_ids)]


async def _close(
    session: AsyncSession,
    cards_where: Any,
    reason: CollectionCloseReason,
    card_ids: CardIds,
    now: datetime,
) -> int:
    k = CASES.c
    result = await session.execute(
        update(CASES)
        .where(*_open_cases(card_ids), k.card_id.in_(select(CARDS.c.id).where(cards_where)))
        .values(
            status=CLOSED,
            close_reason=reason.value,
            closed_at=now,
            updated_at=now,
            version=k.version + 1,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _break_promises(
    session: AsyncSession,
    as_of: date,
    day_starts: datetime,
    card_ids: CardIds,
    now: datetime,
) -> int:
    k, t, x = CASES.c, TRANSACTIONS.c, CONTACTS.c
    promised_at = (
        select(func.max(x.occurred_at))
        .where(x.case_id == k.id, x.outcome == ContactOutcome.PROMISE_TO_PAY.value)
        .scalar_subquery()
    )
    # The end of the promise date, local: as_of's local midnight moved by the days between.
    deadline = instant_plus_days(
        literal(day_starts, UTCDateTime), days_between(k.promise_date, literal(as_of, Date)) + 1
    )
    repaid = (
        select(func.coalesce(func.sum(t.amount_cents), 0))
        .where(
            t.card_id == k.card_id,
            t.kind == TransactionKind.REPAYMENT,
            t.occurred_at >= func.coalesce(promised_at, k.opened_at),
            t.occurred_at < deadline,
        )
        .scalar_subquery()
    )
    result = await session.execute(
        update(CASES)
        .where(
            k.status == CollectionStatus.PROMISED.value,
            k.promise_date < as_of,
            among(k.card_id, card_ids),
            repaid < func.coalesce(k.promise_amount_cents, 0),
        )
        .values(
            status=CollectionStatus.OPEN.value,
            broken_promises=k.broken_promises + 1,
            updated_at=now,
            version=k.version + 1,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _figures(closes_at: datetime, card_ids: CardIds) -> Any:
    """Per card: customer, branch, bucket, days past due, overdue amount, status."""
    c, u = CARDS.c, CUSTOMERS.c
    overdue = _overdue(closes_at, card_ids)
    return (
        select(
            c.id.label("card_id"),
            c.customer_id,
            u.branch_id,
            c.status,
            c.overdue_bucket,
            c.days_past_due,
            func.coalesce(overdue.c.amount, 0).label("amount"),
        )
        .select_from(
            CARDS.join(CUSTOMERS, u.id == c.customer_id).outerjoin(
                overdue, overdue.c.card_id == c.id
            )
        )
        .where(among(c.id, card_ids))
        .subquery()
    )


async def _update(
    session: AsyncSession,
    closes_at: datetime,
    card_ids: CardIds,
    now: datetime,
) -> int:
    k = CASES.c
    f = _figures(closes_at, card_ids).c
    result = await session.execute(
        update(CASES)
        .where(
            *_open_cases(card_ids),
            k.card_id == f.card_id,
            or_(
                k.bucket != f.overdue_bucket,
                k.days_past_due != f.days_past_due,
                k.overdue_cents != f.amount,
            ),
        )
        .values(
            bucket=f.overdue_bucket,
            days_past_due=f.days_past_due,
            overdue_cents=f.amount,
            updated_at=now,
            version=k.version + 1,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _open(
    session: AsyncSession,
    closes_at: datetime,
    card_ids: CardIds,
    now: datetime,
) -> int:
    k = CASES.c
    f = _figures(closes_at, card_ids).c
    stamp = literal(now, UTCDateTime)
    has_open = select(k.id).where(k.card_id == f.card_id, k.status != CLOSED).exists()
    rows = select(
        new_uuid(),
        f.card_id,
        f.customer_id,
        f.branch_id,
        literal(CollectionStatus.OPEN.value),
        f.overdue_bucket,
        f.overdue_bucket,
        f.days_past_due,
        f.amount,
        literal(0),
        stamp,
        stamp,
        stamp,
        literal(1),
    ).where(f.days_past_due > 0, f.status != CardStatus.CLOSED.value, ~has_open)
    columns = [
        k.id,
        k.card_id,
        k.customer_id,
        k.branch_id,
        k.status,
        k.bucket,
        k.opening_bucket,
        k.days_past_due,
        k.overdue_cents,
        k.broken_promises,
        k.opened_at,
        k.created_at,
        k.updated_at,
        k.version,
    ]
    result = await session.execute(insert(CASES).from_select(columns, rows))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def sync_cases(
    session: AsyncSession,
    *,
    as_of: date,
    day_starts: datetime,
    closes_at: datetime,
    card_ids: CardIds = None,
) -> SyncSummary:
    """Opens, updates and closes cases from the cards' standing as of the local day
    ``as_of`` (which begins at ``day_starts`` and ends at ``closes_at``); over every card,
    or the given ones. Uncommitted: the caller commits with its audit entry."""
    summary = SyncSummary()
    if card_ids is not None and not card_ids:
        return summary
    now = utcnow()
    c = CARDS.c
    summary.card_closed = await _close(
        session,
        and_(c.status == CardStatus.CLOSED.value, among(c.id, card_ids)),
        CollectionCloseReason.CARD_CLOSED,
        card_ids,
        now,
    )
    summary.cured = await _close(
        session,
        and_(c.days_past_due <= 0, among(c.id, card_ids)),
        CollectionCloseReason.CURED,
        card_ids,
        now,
    )
    summary.promises_broken = await _break_promises(session, as_of, day_starts, card_ids, now)
    summary.updated = await _update(session, closes_at, card_ids, now)
    summary.opened = await _open(session, closes_at, card_ids, now)
    return summary


def local_day(settings: Settings, as_of: date) -> tuple[datetime, datetime]:
    """The UTC instants at which the bank's local day ``as_of`` begins and ends."""
    zone = ZoneInfo(settings.contact_timezone)
    starts = datetime.combine(as_of, datetime.min.time(), zone)
    ends = datetime.combine(date.fromordinal(as_of.toordinal() + 1), datetime.min.time(), zone)
    return starts.astimezone(ZoneInfo("UTC")), ends.astimezone(ZoneInfo("UTC"))


async def sweep(session: AsyncSession, settings: Settings, as_of: date) -> SyncSummary:
    """Every case as of the local day ``as_of`` (``cardcrm collections sweep``; the statement
    close runs the same after it has updated every card's standing)."""
    starts, ends = local_day(settings, as_of)
    return await sync_cases(session, as_of=as_of, day_starts=starts, closes_at=ends)
