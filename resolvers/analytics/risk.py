"""Risk KPIs: overdue standing, roll rates, collections, alerts and limit decisions, in SQL.

Every figure is an aggregate the database computes (six SELECTs, whatever the data); no
row is loaded into Python and nothing encrypted is touched.

Definitions (``[from, to)`` is the requested half-open range; the branch filter, when given
or imposed, applies to the customer's branch for cards and statements, and to the
``branch_id`` of cases, alerts and limit requests):

- **overdue by bucket** (a snapshot: the range does not apply): the cards with at least one
  statement, per current overdue bucket (current, M1 … M6, M6+, every bucket listed), with
  their balance, the balance of each card's latest statement (a credit balance counts 0).
  The **overdue rate** is overdue cards (any bucket past current) / cards counted, and the
  **overdue balance rate** their balance / the balance of all cards counted;
- **roll rates**: pairs of consecutive statements of a card whose later one closed in range
  (``closes_at``), by the earlier one's bucket (current … M6): of them, how many moved one
  bucket on (current → M1, M1 → M2, … M6 → M6+) and, from M1 on, how many went back to
  current (cured); a card counts once per pair;
- **collections**: the cases open at any time in range (opened before ``to``, not closed
  before ``from``); the **cure rate** is those closed as cured in range / those; the
  **contact rate** those with at least one collection contact in range / those;
- **promise-kept rate**: promises to pay (contacts with that outcome) for a day from the
  bank-local day ``from`` falls on up to, not including, the one ``to`` falls on; a promise is
  kept when the card's repayments from the contact to the end of the promised day (local)
  add up to at least the promised amount; kept / all those promises;
- **alerts by rule**: alerts raised (``created_at``) in range, per rule (every rule listed):
  how many, how many are now resolved (confirmed fraud, legitimate, false positive), how many
  confirmed fraud, and the confirmed-fraud share of the resolved ones;
- **limit decisions**: limit requests made in range; requests decided in range by outcome
  (approved, rejected, cancelled; a cancellation's time is the request's last update);
  risk-driven limit decreases made in range.

Rates are fractions in [0, 1] and null when their denominator is zero. Exact figures: the
KPIs need ``risk:read``, which no role with small-group suppression (marketer, merchant) has.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Table, case, func, select
from sqlmodel import col

from core.identity import Principal
from core.request_database import RequestDatabase
from models.cards.card import Card
from models.cards.limits import (
    CreditLimitChange,
    CreditLimitRequest,
    LimitChangeKind,
    LimitRequestStatus,
)
from models.cards.statement import OverdueBucket, Statement
from models.customers.customer import Customer
from models.risk.alert import AlertRule, AlertStatus, RiskAlert
from resolvers.analytics.risk_collections import Collections, collection_kpis
from resolvers.analytics.sql import (
    branch_scope,
    checked_range,
    count_where,
    in_branch,
    in_range,
    one_row,
    ratio,
)

CARDS: Table = Card.__table__  # type: ignore[attr-defined]
STATEMENTS: Table = Statement.__table__  # type: ignore[attr-defined]
BUCKETS = tuple(bucket.value for bucket in OverdueBucket)
# Roll rates start from every bucket that has a next one: current … M6.
ROLL_FROM = BUCKETS[:-1]
RESOLVED = (AlertStatus.CONFIRMED_FRAUD, AlertStatus.LEGITIMATE, AlertStatus.FALSE_POSITIVE)


@dataclass(frozen=True)
class BucketFigure:
    bucket: str
    cards: int
    balance_cents: int


@dataclass(frozen=True)
class Overdue:
    buckets: list[BucketFigure]
    cards: int
    overdue_cards: int
    card_rate: float | None
    balance_cents: int
    overdue_balance_cents: int
    balance_rate: float | None


@dataclass(frozen=True)
class RollRate:
    from_bucket: str
    to_bucket: str
    count: int
    rolled: int
    rate: float | None
    cured: int | None  # None from current: nothing to cure
    cure_rate: float | None


@dataclass(frozen=True)
class AlertFigure:
    rule: str
    count: int
    resolved: int
    confirmed_fraud: int
    fraud_share: float | None


@dataclass(frozen=True)
class LimitDecisions:
    requested: int
    approved: int
    rejected: int
    cancelled: int
    risk_decreases: int


@dataclass(frozen=True)
class RiskKpis:
    date_from: datetime
    date_to: datetime
    branch_id: uuid.UUID | None
    overdue: Overdue
    roll_rates: list[RollRate]
    collections: Collections
    alerts: list[AlertFigure]
    alert_total: AlertFigure
    limits: LimitDecisions


async def _keyed(db: RequestDatabase, query: Any) -> dict[str, tuple[int, ...]]:
    """The rows of a GROUP BY query: its key, then its counts."""
    rows = map(tuple, (await db.execute(query)).all())
    return {str(row[0]): tuple(int(value) for value in row[1:]) for row in rows}


def _customer_branch(branch_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    """Cards of the branch's customers (all cards when None)."""
    if branch_id is None:
        return []
    of_branch = select(col(Customer.id)).where(col(Customer.branch_id) == branch_id)
    return [col(Card.customer_id).in_(of_branch)]


async def _overdue(db: RequestDatabase, branch_id: uuid.UUID | None) -> Overdue:
    latest = (
        select(col(Statement.card_id), func.max(col(Statement.cycle_end)).label("cycle_end"))
        .group_by(col(Statement.card_id))
        .subquery()
    )
    owed = case((col(Statement.balance_cents) > 0, col(Statement.balance_cents)), else_=0)
    query = (
        select(col(Card.overdue_bucket), func.count(), func.coalesce(func.sum(owed), 0))
        .select_from(Card)
        .join(latest, latest.c.card_id == col(Card.id))
        .join(
            Statement,
            (col(Statement.card_id) == latest.c.card_id)
            & (col(Statement.cycle_end) == latest.c.cycle_end),
        )
        .where(*_customer_branch(branch_id))
        .group_by(col(Card.overdue_bucket))
    )
    found = await _keyed(db, query)
    buckets = [BucketFigure(b, *found.get(b, (0, 0))) for b in BUCKETS]
    late = [item for item in buckets if item.bucket != OverdueBucket.CURRENT.value]
    cards, balance = sum(b.cards for b in buckets), sum(b.balance_cents for b in buckets)
    overdue_cards, overdue_balance = sum(b.cards for b in late), sum(b.balance_cents for b in late)
    return Overdue(
        buckets=buckets,
        cards=cards,
        overdue_cards=overdue_cards,
        card_rate=ratio(overdue_cards, cards),
        balance_cents=balance,
        overdue_balance_cents=overdue_balance,
        balance_rate=ratio(overdue_balance, balance),
    )


def _next_bucket(bucket: Any) -> Any:
    steps = [(bucket == here, after) for here, after in zip(ROLL_FROM, BUCKETS[1:], strict=True)]
    return case(*steps, else_=None)


async def _roll_rates(
    db: RequestDatabase, date_from: datetime, date_to: datetime, branch_id: uuid.UUID | None
) -> list[RollRate]:
    s, earlier = STATEMENTS.c, STATEMENTS.alias("earlier").c
    # The card's statement before each one: one primary-key probe per statement in range,
    # rather than ordering every statement ever closed.
    previous = (
        select(earlier.overdue_bucket)
        .where(earlier.card_id == s.card_id, earlier.cycle_end < s.cycle_end)
        .order_by(earlier.cycle_end.desc())
        .limit(1)
        .scalar_subquery()
    )
    pairs = (
        select(s.overdue_bucket.label("bucket"), previous.label("previous"))
        .select_from(STATEMENTS.join(CARDS, CARDS.c.id == s.card_id))
        .where(*in_range(s.closes_at, date_from, date_to), *_customer_branch(branch_id))
        .subquery()
    )
    p = pairs.c
    query = (
        select(
            p.previous,
            func.count(),
            count_where(p.bucket == _next_bucket(p.previous)),
            count_where(p.bucket == OverdueBucket.CURRENT.value),
        )
        .where(p.previous.is_not(None), p.bucket.is_not(None))
        .group_by(p.previous)
    )
    found = await _keyed(db, query)
    rates = []
    for here, after in zip(ROLL_FROM, BUCKETS[1:], strict=True):
        count, rolled, cured = found.get(here, (0, 0, 0))
        if here == OverdueBucket.CURRENT.value:
            rates.append(RollRate(here, after, count, rolled, ratio(rolled, count), None, None))
        else:
            rate, cure_rate = ratio(rolled, count), ratio(cured, count)
            rates.append(RollRate(here, after, count, rolled, rate, cured, cure_rate))
    return rates


def _alert_figure(rule: str, count: int, resolved: int, fraud: int) -> AlertFigure:
    return AlertFigure(rule, count, resolved, fraud, ratio(fraud, resolved))


async def _alerts(
    db: RequestDatabase, date_from: datetime, date_to: datetime, branch_id: uuid.UUID | None
) -> list[AlertFigure]:
    status = col(RiskAlert.status)
    query = (
        select(
            col(RiskAlert.rule),
            func.count(),
            count_where(status.in_([s.value for s in RESOLVED])),
            count_where(status == AlertStatus.CONFIRMED_FRAUD.value),
        )
        .where(
            *in_range(col(RiskAlert.created_at), date_from, date_to),
            *in_branch(col(RiskAlert.branch_id), branch_id),
        )
        .group_by(col(RiskAlert.rule))
    )
    found = await _keyed(db, query)
    rules = [rule.value for rule in AlertRule]
    keys = [*rules, *sorted(key for key in found if key not in rules)]
    return [_alert_figure(key, *found.get(key, (0, 0, 0))) for key in keys]


def _total(alerts: list[AlertFigure]) -> AlertFigure:
    return _alert_figure(
        "all",
        sum(a.count for a in alerts),
        sum(a.resolved for a in alerts),
        sum(a.confirmed_fraud for a in alerts),
    )


async def _limits(
    db: RequestDatabase, date_from: datetime, date_to: datetime, branch_id: uuid.UUID | None
) -> LimitDecisions:
    r = CreditLimitRequest
    # A cancellation records no decision time: it is the request's last update.
    decided = in_range(func.coalesce(col(r.decided_at), col(r.updated_at)), date_from, date_to)

    def outcome(status: LimitRequestStatus) -> Any:
        return count_where((col(r.status) == status.value) & decided[0] & decided[1])

    requests = (
        select(
            count_where(col(r.created_at) >= date_from),
            outcome(LimitRequestStatus.APPROVED),
            outcome(LimitRequestStatus.REJECTED),
            outcome(LimitRequestStatus.CANCELLED),
        )
        .where(col(r.created_at) < date_to, *in_branch(col(r.branch_id), branch_id))
        .subquery()
    )
    decreases = (
        select(func.count())
        .select_from(CreditLimitChange)
        .join(Card, col(Card.id) == col(CreditLimitChange.card_id))
        .where(
            col(CreditLimitChange.kind) == LimitChangeKind.RISK_DECREASE.value,
            *in_range(col(CreditLimitChange.created_at), date_from, date_to),
            *_customer_branch(branch_id),
        )
        .scalar_subquery()
    )
    requested, approved, rejected, cancelled, risk_decreases = await one_row(
        db, select(*requests.c, decreases)
    )
    return LimitDecisions(
        int(requested), int(approved), int(rejected), int(cancelled), int(risk_decreases)
    )


async def risk_kpis(
    *,
    db: RequestDatabase,
    principal: Principal,
    timezone: str,
    date_from: datetime,
    date_to: datetime,
    branch_id: uuid.UUID | None,
) -> RiskKpis:
    """The risk KPIs of ``[date_from, date_to)`` (see the module docstring for each one).

    The caller holds ``analytics:read`` and ``risk:read`` (declared on the fields); branch
    scoping is the other analytics' (one-branch staff get theirs). ``timezone`` is the
    bank's (``settings.contact_timezone``): the days promises to pay are made for.
    """
    checked_range(date_from, date_to)
    branch_id = await branch_scope(db, principal, branch_id)
    alerts = await _alerts(db, date_from, date_to, branch_id)
    return RiskKpis(
        date_from=date_from,
        date_to=date_to,
        branch_id=branch_id,
        overdue=await _overdue(db, branch_id),
        roll_rates=await _roll_rates(db, date_from, date_to, branch_id),
        collections=await collection_kpis(db, date_from, date_to, branch_id, ZoneInfo(timezone)),
        alerts=alerts,
        alert_total=_total(alerts),
        limits=await _limits(db, date_from, date_to, branch_id),
    )
