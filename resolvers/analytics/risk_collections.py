"""Collection KPIs of ``analytics.risk``: cure, contact and promise-kept rates (definitions
in ``resolvers.analytics.risk``), in two SELECTs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, exists, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from core.request_database import RequestDatabase
from models.collections.case import (
    CollectionCase,
    CollectionCloseReason,
    CollectionContact,
    ContactOutcome,
)
from models.columns import UTCDateTime
from models.transactions.transaction import Transaction, TransactionKind
from resolvers.analytics.sql import count_where, in_branch, in_range, one_row, ratio


class day_end(FunctionElement[datetime]):
    """``day_end(day, offset_minutes)``: the UTC instant a DATE ends in a zone ``offset``
    minutes ahead of UTC (the bank's zone has no daylight saving, as statements assume)."""

    type = UTCDateTime()
    inherit_cache = True
    name = "day_end"


@compiles(day_end)
def _day_end_postgresql(element: day_end, compiler: SQLCompiler, **kw: Any) -> str:
    day, offset = (compiler.process(clause, **kw) for clause in element.clauses)
    return (
        f"((CAST({day} AS TIMESTAMP) + make_interval(days => 1, mins => -CAST({offset} AS "
        "INTEGER))) AT TIME ZONE 'UTC')"
    )


@compiles(day_end, "sqlite")
def _day_end_sqlite(element: day_end, compiler: SQLCompiler, **kw: Any) -> str:
    day, offset = (compiler.process(clause, **kw) for clause in element.clauses)
    # The text SQLAlchemy stores a UTC instant as (see resolvers/cards/calendar.py).
    return f"strftime('%Y-%m-%d %H:%M:%f000', {day}, '+1 day', printf('%+d minutes', -{offset}))"


@dataclass(frozen=True)
class Collections:
    cases: int
    cured: int
    cure_rate: float | None
    contacted: int
    contact_rate: float | None
    promises: int
    kept: int
    promise_kept_rate: float | None


def _promise_days(date_from: datetime, date_to: datetime, zone: ZoneInfo) -> tuple[date, date]:
    """The promised days ``[first, end)`` a range counts: from the bank-local day ``from``
    falls on up to, not including, the one ``to`` falls on (so April given in UTC or in local
    time both count the promises for 1–30 April)."""
    return date_from.astimezone(zone).date(), date_to.astimezone(zone).date()


async def collection_kpis(
    db: RequestDatabase,
    date_from: datetime,
    date_to: datetime,
    branch_id: uuid.UUID | None,
    zone: ZoneInfo,
) -> Collections:
    k = CollectionCase
    closed_at = col(k.closed_at)
    contacted = exists().where(
        col(CollectionContact.case_id) == col(k.id),
        *in_range(col(CollectionContact.occurred_at), date_from, date_to),
    )
    cured = (col(k.close_reason) == CollectionCloseReason.CURED.value) & and_(
        *in_range(closed_at, date_from, date_to)
    )
    cases = select(func.count(), count_where(cured), count_where(contacted)).where(
        col(k.opened_at) < date_to,
        or_(closed_at.is_(None), closed_at >= date_from),
        *in_branch(col(k.branch_id), branch_id),
    )
    open_cases, cured_cases, contacted_cases = await one_row(db, cases)
    promises, kept = await _promises(db, date_from, date_to, branch_id, zone)
    return Collections(
        cases=int(open_cases),
        cured=int(cured_cases),
        cure_rate=ratio(cured_cases, open_cases),
        contacted=int(contacted_cases),
        contact_rate=ratio(contacted_cases, open_cases),
        promises=promises,
        kept=kept,
        promise_kept_rate=ratio(kept, promises),
    )


async def _promises(
    db: RequestDatabase,
    date_from: datetime,
    date_to: datetime,
    branch_id: uuid.UUID | None,
    zone: ZoneInfo,
) -> tuple[int, int]:
    contact, t = CollectionContact, Transaction
    first, end = _promise_days(date_from, date_to, zone)
    offset = zone.utcoffset(datetime.combine(first, time()))
    minutes = int(offset.total_seconds() // 60) if offset else 0
    repaid = (
        select(func.coalesce(func.sum(col(t.amount_cents)), 0))
        .where(
            col(t.card_id) == col(CollectionCase.card_id),
            col(t.kind) == TransactionKind.REPAYMENT.value,
            col(t.occurred_at) >= col(contact.occurred_at),
            col(t.occurred_at) < day_end(col(contact.promise_date), literal(minutes, Integer)),
        )
        .scalar_subquery()
    )
    query = (
        select(
            func.count(), count_where(repaid >= func.coalesce(col(contact.promise_amount_cents), 0))
        )
        .select_from(contact)
        .join(CollectionCase, col(CollectionCase.id) == col(contact.case_id))
        .where(
            col(contact.outcome) == ContactOutcome.PROMISE_TO_PAY.value,
            col(contact.promise_date) >= first,
            col(contact.promise_date) < end,
            *in_branch(col(CollectionCase.branch_id), branch_id),
        )
    )
    promises, kept = await one_row(db, query)
    return int(promises), int(kept)
