"""``recommendedOffers``: the live offers a customer is eligible for, best fit first.

Eligibility is ``offer_eligibility.is_eligible``, the same predicate targeting uses (without
the marketing-consent condition: consent governs whom we contact, not what a customer sees
when they open the app). Offers the customer already redeemed, or whose assignment expired,
are left out, and so are offers whose quota is full unless the customer already holds one.

The ranking is the customer's spend affinity: the share of their window spend that went to
the offer's category and spend categories (``customer_metrics.category_spend``); ties go to
the offer ending soonest, then the larger benefit value. A page of customers is answered by
one DataLoader batch of at most four statements, however many customers and offers.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.columns import utcnow
from models.customers.customer import Customer
from models.growth.offer import AssignmentStatus, Offer, OfferAssignment, OfferStatus
from models.merchants.merchant import Merchant
from resolvers.growth.eligibility import (
    Eligibility,
    Profile,
    affinity,
    is_eligible,
    offer_categories,
    profile_of,
    profile_query,
)

if TYPE_CHECKING:
    from core.context import Context
    from core.request_database import RequestDatabase

_OVER = frozenset({AssignmentStatus.REDEEMED.value, AssignmentStatus.EXPIRED.value})


@dataclass(frozen=True)
class Recommendation:
    offer: Offer
    merchant_name: str
    affinity: float
    # The customer's assignment of this offer, if targeted already (the app accepts that).
    assignment: OfferAssignment | None = None


@dataclass(frozen=True)
class LiveOffer:
    offer: Offer
    merchant_name: str
    rules: Eligibility
    categories: frozenset[str]
    full: bool


def rank(recommendations: list[Recommendation]) -> list[Recommendation]:
    """Best affinity first; ties: ending soonest, then the larger benefit value."""
    return sorted(
        recommendations,
        key=lambda r: (-r.affinity, r.offer.ends_at, -r.offer.benefit_value, str(r.offer.id)),
    )


def recommend(
    profile: Profile,
    offers: Sequence[LiveOffer],
    held: dict[uuid.UUID, OfferAssignment],
) -> list[Recommendation]:
    """The ranked recommendations for one customer; ``held``: their assignments by offer."""
    chosen = []
    for live in offers:
        assignment = held.get(live.offer.id)
        if assignment is not None and assignment.status in _OVER:
            continue
        if assignment is None and live.full:
            continue
        if is_eligible(live.rules, profile):
            score = affinity(profile.spend, live.categories)
            chosen.append(Recommendation(live.offer, live.merchant_name, score, assignment))
    return rank(chosen)


class RecommendedOffersByCustomerLoader(DataLoader[uuid.UUID, list[Recommendation]]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=Recommender(context.db).for_customers)


class Recommender:
    """The recommendations of many customers at once, over any request's database: the loader
    above for GraphQL, and the benchmark's fixtures and twins for the same answers."""

    def __init__(self, db: RequestDatabase) -> None:
        self._db = db

    async def for_customers(self, keys: Sequence[uuid.UUID]) -> list[list[Recommendation]]:
        offers = await self._live_offers(utcnow())
        if not offers:
            return [[] for _ in keys]
        result = await self._db.execute(profile_query().where(col(Customer.id).in_(keys)))
        profiles = {profile.customer_id: profile for profile in map(profile_of, result.all())}
        held = await self._held(keys, [live.offer.id for live in offers])
        return [
            recommend(profiles[key], offers, held[key]) if key in profiles else [] for key in keys
        ]

    async def _live_offers(self, now: datetime) -> list[LiveOffer]:
        result = await self._db.execute(
            select(Offer, col(Merchant.name))
            .join(Merchant, col(Merchant.id) == col(Offer.merchant_id))
            .where(
                col(Offer.status) == OfferStatus.ACTIVE.value,
                col(Offer.starts_at) <= now,
                col(Offer.ends_at) > now,
            )
        )
        found: list[Any] = list(result.all())
        rows: list[tuple[Offer, str]] = [(row[0], row[1]) for row in found]
        filled = await self._filled([offer.id for offer, _ in rows if offer.quota is not None])
        return [
            LiveOffer(
                offer,
                name,
                Eligibility.of(offer),
                offer_categories(offer),
                offer.quota is not None and filled.get(offer.id, 0) >= offer.quota,
            )
            for offer, name in rows
        ]

    async def _filled(self, offer_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Assignments so far of the offers that have a quota."""
        if not offer_ids:
            return {}
        result = await self._db.execute(
            select(col(OfferAssignment.offer_id), func.count().label("n"))
            .where(col(OfferAssignment.offer_id).in_(offer_ids))
            .group_by(col(OfferAssignment.offer_id))
        )
        return {row.offer_id: int(row.n) for row in result.all()}

    async def _held(
        self, customers: Sequence[uuid.UUID], offer_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, dict[uuid.UUID, OfferAssignment]]:
        rows = await self._db.scalars(
            select(OfferAssignment).where(
                col(OfferAssignment.customer_id).in_(customers),
                col(OfferAssignment.offer_id).in_(offer_ids),
            )
        )
        held: dict[uuid.UUID, dict[uuid.UUID, OfferAssignment]] = defaultdict(dict)
        for row in rows:
            held[row.customer_id][row.offer_id] = row
        return held
