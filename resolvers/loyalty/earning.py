"""Posting points from an imported batch: an ``earn`` entry per booked CNY purchase and a
``reverse`` entry per booked CNY refund, in the batch's own transaction (a step of
``resolvers.batch_effects``), as two set-based ``INSERT … SELECT … ON CONFLICT
(natural_key) DO NOTHING`` statements per batch chunk, whatever the number of rows.

The rule (integers, rounded down): points = yuan × ``points_per_yuan`` × the customer's tier
multiplier (``tiers.points_multiplier_percent``, the tier held when the batch is posted) ×
the category's multiplier (``points_category_percent``) × the highest ``POINTS_MULTIPLIER``
offer the customer has accepted that is active, valid at the purchase's time, whose minimum
spend the purchase reaches and whose spend categories (if any) include the purchase's (an
offer's merchant is not matched: transactions carry a merchant's name, not its id). Only CNY
earns: foreign-currency amounts have no yuan value here.

A refund is reversed by the same rule from its own amount and category, at its own time,
but never below zero on its card: a reverse takes at most what the card's earn entries net
of its earlier reverses still hold (refunds of one card in one batch are taken in time
order). Refunds do not name their purchase, so the reverse is the card's, not a purchase's.

Each earn entry expires at the end of the ``points_expiry_years``-th calendar year after the
year of the purchase (bank time): ``expires_at`` is the first instant after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, String, Table, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from models.cards.card import Card
from models.columns import UTCDateTime, utcnow
from models.customers.customer import Customer
from models.growth.offer import AssignmentStatus, BenefitType, Offer, OfferAssignment, OfferStatus
from models.growth.tier import Tier
from models.loyalty.ledger import PointsEntry, PointsKind
from models.transactions.transaction import Transaction, TransactionKind
from resolvers.batch_sql import among, insert_new, json_has, new_uuid

ENTRIES: Table = PointsEntry.__table__  # type: ignore[attr-defined]
TRANSACTIONS: Table = Transaction.__table__  # type: ignore[attr-defined]
CARDS: Table = Card.__table__  # type: ignore[attr-defined]
CUSTOMERS: Table = Customer.__table__  # type: ignore[attr-defined]
TIERS: Table = Tier.__table__  # type: ignore[attr-defined]
OFFERS: Table = Offer.__table__  # type: ignore[attr-defined]
ASSIGNMENTS: Table = OfferAssignment.__table__  # type: ignore[attr-defined]
POINTS_CURRENCY = "CNY"
# Transaction ids per statement (one bound array; the chunk bounds one statement's work).
ID_CHUNK = 8192
# yuan = cents / 100, and the tier's and category's multipliers are percents.
DIVISOR = 100 * 100 * 100


class BookedRow(Protocol):
    """A transaction a batch stored (``resolvers.transactions.ingest.BookedTransaction``)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def kind(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...


class BookedBatch(Protocol):
    """What a written batch tells its effects (``BatchOutcome``)."""

    @property
    def booked(self) -> Sequence[BookedRow]: ...


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def expiry_of(year: int, settings: Settings) -> datetime:
    """The first instant (UTC) after the points of ``year`` expire."""
    zone = ZoneInfo(settings.contact_timezone)
    return datetime(year + settings.points_expiry_years + 1, 1, 1, tzinfo=zone).astimezone(UTC)


def year_start(year: int, settings: Settings) -> datetime:
    return datetime(year, 1, 1, tzinfo=ZoneInfo(settings.contact_timezone)).astimezone(UTC)


def _expiry(occurred_at: Any, years: set[int], settings: Settings) -> ColumnElement[Any]:
    """``expires_at`` for the batch's purchase times: one branch per local year they span."""
    ordered = sorted(years)
    branches = [
        (
            occurred_at < year_start(year + 1, settings),
            literal(expiry_of(year, settings), UTCDateTime),
        )
        for year in ordered[:-1]
    ]
    last = literal(expiry_of(ordered[-1], settings), UTCDateTime)
    return case(*branches, else_=last) if branches else last


def _points(settings: Settings) -> ColumnElement[Any]:
    """The rule's points for each row of ``transactions`` joined to its card and tier."""
    t, c = TRANSACTIONS.c, CARDS.c
    o, a = OFFERS.c, ASSIGNMENTS.c
    categories = [
        (t.merchant_category == name, percent)
        for name, percent in sorted(settings.points_category_percent.items())
    ]
    category: Any = case(*categories, else_=100) if categories else literal(100)
    offer = (
        select(func.max(o.benefit_value))
        .select_from(ASSIGNMENTS.join(OFFERS, o.id == a.offer_id))
        .where(
            a.customer_id == c.customer_id,
            a.status == AssignmentStatus.ACCEPTED.value,
            o.benefit_type == BenefitType.POINTS_MULTIPLIER.value,
            o.status == OfferStatus.ACTIVE.value,
            o.starts_at <= t.occurred_at,
            o.ends_at > t.occurred_at,
            o.min_spend_cents <= t.amount_cents,
            (func.json_array_length(o.spend_categories) == 0)
            | json_has(o.spend_categories, t.merchant_category),
        )
        .scalar_subquery()
    )
    points: ColumnElement[Any] = (
        cast(t.amount_cents, BigInteger)
        * settings.points_per_yuan
        * TIERS.c.points_multiplier_percent
        * category
        * func.coalesce(offer, 1)
        // DIVISOR
    )
    return points


def _sources() -> Any:
    t, c = TRANSACTIONS.c, CARDS.c
    return (
        TRANSACTIONS.join(CARDS, c.id == t.card_id)
        .join(CUSTOMERS, CUSTOMERS.c.id == c.customer_id)
        .join(TIERS, TIERS.c.id == CUSTOMERS.c.tier_id)
    )


COLUMNS = (
    "id",
    "customer_id",
    "card_id",
    "kind",
    "points",
    "transaction_id",
    "occurred_at",
    "expires_at",
    "natural_key",
    "created_at",
)


async def _earn(
    session: AsyncSession, ids: list[uuid.UUID], years: set[int], settings: Settings
) -> int:
    t, c = TRANSACTIONS.c, CARDS.c
    points = _points(settings)
    rows = (
        select(
            new_uuid(),
            c.customer_id,
            t.card_id,
            literal(PointsKind.EARN.value),
            points,
            t.id,
            t.occurred_at,
            _expiry(t.occurred_at, years, settings),
            literal("earn:") + cast(t.id, String),
            literal(utcnow(), UTCDateTime),
        )
        .select_from(_sources())
        .where(
            among(_dialect(session), t.id, ids, "purchase_ids"),
            t.kind == TransactionKind.PURCHASE.value,
            t.currency == POINTS_CURRENCY,
            points > 0,
        )
    )
    statement = (
        insert_new(session, ENTRIES)
        .from_select(list(COLUMNS), rows)
        .on_conflict_do_nothing(index_elements=[ENTRIES.c.natural_key])
    )
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _reverse(session: AsyncSession, ids: list[uuid.UUID], settings: Settings) -> int:
    t, c, e = TRANSACTIONS.c, CARDS.c, ENTRIES.c
    held = (
        select(func.coalesce(func.sum(e.points), 0))
        .where(
            e.card_id == t.card_id,
            e.kind.in_([PointsKind.EARN.value, PointsKind.REVERSE.value]),
        )
        .scalar_subquery()
    )
    raw = _points(settings)
    before = func.sum(raw).over(partition_by=t.card_id, order_by=(t.occurred_at, t.id)) - raw
    figures = (
        select(
            c.customer_id,
            t.card_id,
            t.id,
            t.occurred_at,
            raw.label("raw"),
            (held - before).label("left"),
        )
        .select_from(_sources())
        .where(
            among(_dialect(session), t.id, ids, "refund_ids"),
            t.kind == TransactionKind.REFUND.value,
            t.currency == POINTS_CURRENCY,
        )
        .subquery()
    )
    f = figures.c
    taken = case((f.left <= 0, 0), (f.raw < f.left, f.raw), else_=f.left)
    rows = select(
        new_uuid(),
        f.customer_id,
        f.card_id,
        literal(PointsKind.REVERSE.value),
        -taken,
        f.id,
        f.occurred_at,
        literal(None, UTCDateTime),
        literal("reverse:") + cast(f.id, String),
        literal(utcnow(), UTCDateTime),
    ).where(taken > 0)
    statement = (
        insert_new(session, ENTRIES)
        .from_select(list(COLUMNS), rows)
        .on_conflict_do_nothing(index_elements=[ENTRIES.c.natural_key])
    )
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def post_points(
    session: AsyncSession, booked: Sequence[BookedRow], settings: Settings
) -> tuple[int, int]:
    """Posts the earn and reverse entries of a batch's booked transactions; (earned,
    reversed) entries written. Nothing is posted twice (the natural key)."""
    purchases = [row for row in booked if row.kind == TransactionKind.PURCHASE.value]
    refunds = [row for row in booked if row.kind == TransactionKind.REFUND.value]
    zone = ZoneInfo(settings.contact_timezone)
    earned = reversed_ = 0
    for start in range(0, len(purchases), ID_CHUNK):
        chunk = [r for r in purchases[start : start + ID_CHUNK] if r.currency == POINTS_CURRENCY]
        if chunk:
            years = {row.occurred_at.astimezone(zone).year for row in chunk}
            earned += await _earn(session, [row.id for row in chunk], years, settings)
    for start in range(0, len(refunds), ID_CHUNK):
        ids = [r.id for r in refunds[start : start + ID_CHUNK] if r.currency == POINTS_CURRENCY]
        if ids:
            reversed_ += await _reverse(session, ids, settings)
    return earned, reversed_


def points_step(settings: Settings) -> Any:
    """The batch effect step (``resolvers.batch_effects``): posts a written batch's points."""

    async def step(session: AsyncSession, outcome: BookedBatch) -> None:
        await post_points(session, outcome.booked, settings)

    return step
