"""``merchantStats``: how a partner merchant's offers do, by local day, with no customer in it.

For the calling merchant's offers (or one of them), per day of ``settings.contact_timezone``
(``resolvers.merchants.days``; whole days only, so two ranges cannot be subtracted to isolate
a few minutes' activity):

- **views**: assignments first viewed that day (``viewed_at``);
- **acceptances**: assignments accepted that day (``accepted_at``);
- **redemptions**: codes redeemed that day (``redeemed_at``), with the **redeemed amount**
  (sum of the purchases) and the **benefit cost** (sum of what the redemptions cost the
  offers' budgets).

Each figure is small-group suppressed per cell (``resolvers.suppression``) by the number of
*distinct* customers behind it (one customer may view two of the merchant's offers on one
day); the amounts go with their redemptions. No total over the range is given: it would give
the suppressed days away by subtraction. The figures are three GROUP BY queries, one per
kind of event, whatever the range.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func
from sqlmodel import col, select

from core.errors import BadUserInput
from core.identity import Principal
from core.request_database import RequestDatabase
from core.settings import Settings
from models.growth.offer import Offer, OfferAssignment
from resolvers.merchants.days import LocalDays
from resolvers.merchants.scope import calling_merchant, own_offer, own_offers
from resolvers.suppression import Suppressor

MAX_DAYS = 366


@dataclass(frozen=True)
class DayStats:
    day: date
    views: int | None
    acceptances: int | None
    redemptions: int | None
    redeemed_amount_cents: int | None
    benefit_cents: int | None
    suppressed: bool


@dataclass(frozen=True)
class MerchantStats:
    first_day: date
    last_day: date
    time_zone: str
    min_group_size: int
    offer_id: uuid.UUID | None
    days: list[DayStats]


@dataclass(frozen=True)
class _Cell:
    """Exact counts of one kind of event on one day."""

    events: int = 0
    customers: int = 0
    amount_cents: int = 0
    benefit_cents: int = 0


def _checked_days(first: date, last: date) -> None:
    if last < first:
        raise BadUserInput("`range.to` must not be before `range.from`", field="range.to")
    if (last - first) >= timedelta(days=MAX_DAYS):
        raise BadUserInput(f"`range` may span at most {MAX_DAYS} days", field="range")


async def _by_day(
    db: RequestDatabase, days: LocalDays, where: list[Any], timestamp: Any
) -> dict[date, _Cell]:
    """Events whose ``timestamp`` falls in ``days``, grouped by local day."""
    a = OfferAssignment
    events = (
        select(
            days.day_of(timestamp).label("day"),
            col(a.customer_id).label("customer_id"),
            col(a.redeemed_amount_cents).label("amount"),
            col(a.benefit_cents).label("benefit"),
        )
        .join(Offer, col(Offer.id) == col(a.offer_id))
        .where(*where, timestamp >= days.start, timestamp < days.end)
        .subquery()
    )
    figures: list[Any] = [
        func.count(),
        func.count(distinct(events.c.customer_id)),
        func.coalesce(func.sum(events.c.amount), 0),
        func.coalesce(func.sum(events.c.benefit), 0),
    ]
    result = await db.execute(select(events.c.day, *figures).group_by(events.c.day))
    return {
        LocalDays.date_of(row[0]): _Cell(*(int(value) for value in tuple(row)[1:]))
        for row in result.all()
    }


def _day_stats(
    day: date, views: _Cell, acceptances: _Cell, redemptions: _Cell, suppress: Suppressor
) -> DayStats:
    shown = [suppress.figure(c.events, customers=c.customers) for c in (views, acceptances)]
    redeemers = redemptions.customers
    redeemed = suppress.figure(redemptions.events, customers=redeemers)
    return DayStats(
        day=day,
        views=shown[0],
        acceptances=shown[1],
        redemptions=redeemed,
        redeemed_amount_cents=suppress.figure(redemptions.amount_cents, customers=redeemers),
        benefit_cents=suppress.figure(redemptions.benefit_cents, customers=redeemers),
        suppressed=None in (*shown, redeemed),
    )


async def merchant_stats(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    first_day: date,
    last_day: date,
    offer_id: uuid.UUID | None = None,
) -> MerchantStats:
    """The calling merchant's daily figures (merchant tokens only)."""
    merchant_id = calling_merchant(principal)
    _checked_days(first_day, last_day)
    where: list[Any] = [own_offers(merchant_id)]
    if offer_id is not None:
        await own_offer(db, merchant_id, offer_id)
        where.append(col(Offer.id) == offer_id)
    days = LocalDays(ZoneInfo(settings.contact_timezone), first_day, last_day)
    a = OfferAssignment
    viewed = await _by_day(db, days, where, col(a.viewed_at))
    accepted = await _by_day(db, days, where, col(a.accepted_at))
    redeemed = await _by_day(db, days, where, col(a.redeemed_at))
    suppress = Suppressor(settings.stats_min_group_size)
    empty = _Cell()
    return MerchantStats(
        first_day=first_day,
        last_day=last_day,
        time_zone=settings.contact_timezone,
        min_group_size=settings.stats_min_group_size,
        offer_id=offer_id,
        days=[
            _day_stats(
                day,
                viewed.get(day, empty),
                accepted.get(day, empty),
                redeemed.get(day, empty),
                suppress,
            )
            for day in days
        ],
    )
