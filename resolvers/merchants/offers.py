"""``merchantOffers``: a partner merchant's own offers, and the figures it may see on each.

A merchant sees what it agreed with the bank — title, description, benefit, window, quota,
budget — and how its offers do: views, acceptances, redemptions, redeemed amount and what
was spent from the budget. It never sees whom an offer targets (the eligibility rules are the
bank's marketing) nor any customer. The figures are small-group suppressed
(``resolvers.suppression``): on one offer every assignment is a different customer, so each
count is also the number of customers behind it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from core.identity import Principal
from core.settings import Settings
from models.growth.offer import Offer, OfferAssignment, OfferStatus
from resolvers.merchants.scope import calling_merchant, own_offers
from resolvers.pagination import Page, PageArgs, page_with_count
from resolvers.suppression import Suppressor

if TYPE_CHECKING:
    from core.context import Context
    from core.request_database import RequestDatabase


@dataclass(frozen=True)
class OfferActivity:
    """Exact all-time counts of one offer's assignments (never shown as they are)."""

    views: int = 0
    acceptances: int = 0
    redemptions: int = 0
    redeemed_amount_cents: int = 0
    benefit_cents: int = 0


@dataclass(frozen=True)
class OfferFigures:
    """``OfferActivity`` as a merchant may see it: each figure null when suppressed."""

    views: int | None
    acceptances: int | None
    redemptions: int | None
    redeemed_amount_cents: int | None
    benefit_cents: int | None
    suppressed: bool

    @classmethod
    def of(cls, activity: OfferActivity, suppress: Suppressor) -> OfferFigures:
        views, acceptances, redemptions = (
            suppress.count(n) for n in (activity.views, activity.acceptances, activity.redemptions)
        )
        redeemers = activity.redemptions
        return cls(
            views=views,
            acceptances=acceptances,
            redemptions=redemptions,
            redeemed_amount_cents=suppress.figure(
                activity.redeemed_amount_cents, customers=redeemers
            ),
            benefit_cents=suppress.figure(activity.benefit_cents, customers=redeemers),
            suppressed=None in (views, acceptances, redemptions),
        )


class OfferActivityByOfferIdLoader(DataLoader[uuid.UUID, OfferActivity]):
    """All the offers of a page counted in one GROUP BY query."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[OfferActivity]:
        a = OfferAssignment
        figures: list[Any] = [
            func.count(col(a.viewed_at)),
            func.count(col(a.accepted_at)),
            func.count(col(a.redeemed_at)),
            func.coalesce(func.sum(col(a.redeemed_amount_cents)), 0),
            func.coalesce(func.sum(col(a.benefit_cents)), 0),
        ]
        result = await self._db.execute(
            select(col(a.offer_id), *figures)
            .where(col(a.offer_id).in_(keys))
            .group_by(col(a.offer_id))
        )
        found = {
            row[0]: OfferActivity(*(int(value) for value in tuple(row)[1:])) for row in result.all()
        }
        return [found.get(key, OfferActivity()) for key in keys]


def status_is(status: OfferStatus, now: datetime) -> ColumnElement[bool]:
    """The SQL form of ``offer_workflow.effective_status(offer, now) is status``: an offer past
    its window is expired whatever its stored status says."""
    within_window = col(Offer.ends_at) > now
    if status is OfferStatus.EXPIRED:
        return or_(col(Offer.status) == OfferStatus.EXPIRED.value, ~within_window)
    return and_(col(Offer.status) == status.value, within_window)


async def list_merchant_offers(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    status: OfferStatus | None,
    page: PageArgs,
    now: datetime,
) -> tuple[Page[Offer], Callable[[], Awaitable[int]]]:
    """The calling merchant's offers, newest first (merchant tokens only)."""
    merchant_id = calling_merchant(principal)
    conditions: list[Any] = [own_offers(merchant_id)]
    if status is not None:
        conditions.append(status_is(status, now))
    return await page_with_count(
        db,
        Offer,
        conditions,
        sort_col=col(Offer.created_at),
        id_col=col(Offer.id),
        args=page.validated(settings.default_page_size, settings.max_page_size),
    )
