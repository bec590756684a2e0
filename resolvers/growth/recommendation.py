"""``recommendedOffers``: the live offers a customer is eligible for, best fit first.

Eligibility is ``offer_eligibility.is_eligible``, the same predicate targeting uses (without
the marketing-consent condition: consent governs whom we contact, not what a customer sees
when they open the app). Offers the customer already redeemed, or whose assignment expired,
are left out, and so are offers whose quota is full unless the customer already holds one.

The ranking is the customer's spend affinity: the share of their window spend that went to
the offer's category and spend categories (``customer_metrics.category_spend``); ties go to
the offer ending soonest, then the larger benefit value. A page of customers is answered by
at most three statements, however many customers and offers: the live offers (with their
merchant's name and how full their quota is), the customers' profiles, their assignments.

The statements and the ranking are shared by both readers of them: ``Recommender`` on a
request's session (the resolvers, the benchmark's fixtures) and the compiled executor's SQL
plan on the driver's connection (``api.compiled.sql.recommendations``). Both read plain
columns, never ORM entities, so the two give the same answer from the same rows.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, Table, bindparam, case, func, select
from sqlmodel import col
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
_OFFERS: Table = Offer.__table__  # type: ignore[attr-defined]
_ASSIGNMENTS: Table = OfferAssignment.__table__  # type: ignore[attr-defined]
_MERCHANTS: Table = Merchant.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class OfferFacts:
    """A live offer's terms and rules, as ``live_offers_query`` reads them (in this order)."""

    id: uuid.UUID
    title: str
    description: str
    category: str
    benefit_type: str
    benefit_value: int
    starts_at: datetime
    ends_at: datetime
    status: str
    quota: int | None
    min_spend_cents: int
    eligible_tiers: list[str]
    eligible_stages: list[str]
    eligible_segments: list[str]
    spend_categories: list[str]


_FACTS = tuple(OfferFacts.__slots__)


@dataclass(frozen=True, slots=True)
class Held:
    """The customer's assignment of an offer, if it was targeted to them already."""

    id: uuid.UUID
    status: str


@dataclass(frozen=True)
class Recommendation:
    offer: OfferFacts
    merchant_name: str
    affinity: float
    # The customer's assignment of this offer, if targeted already (the app accepts that).
    assignment: Held | None = None


@dataclass(frozen=True)
class LiveOffer:
    offer: OfferFacts
    merchant_name: str
    rules: Eligibility
    categories: frozenset[str]
    full: bool


def live_offers_query() -> Select[Any]:
    """The live offers at ``:now``: ``OfferFacts``' columns, the merchant's name, and how
    many assignments an offer with a quota has so far (0 for one without)."""
    filled = (
        select(func.count())
        .select_from(_ASSIGNMENTS)
        .where(_ASSIGNMENTS.c.offer_id == _OFFERS.c.id)
        .scalar_subquery()
    )
    now = bindparam("now", type_=_OFFERS.c.starts_at.type)
    return (
        select(
            *(_OFFERS.c[name] for name in _FACTS),
            _MERCHANTS.c.name,
            case((_OFFERS.c.quota.is_(None), 0), else_=filled),
        )
        .join(_MERCHANTS, _MERCHANTS.c.id == _OFFERS.c.merchant_id)
        .where(
            _OFFERS.c.status == OfferStatus.ACTIVE.value,
            _OFFERS.c.starts_at <= now,
            _OFFERS.c.ends_at > now,
        )
    )


def held_query() -> Select[Any]:
    """Assignments as ``recommendations_for`` reads them; the caller says whose."""
    return select(
        _ASSIGNMENTS.c.customer_id,
        _ASSIGNMENTS.c.offer_id,
        _ASSIGNMENTS.c.id,
        _ASSIGNMENTS.c.status,
    )


def assignment_customer() -> Any:
    return _ASSIGNMENTS.c.customer_id


def live_offers(rows: Iterable[Sequence[Any]]) -> list[LiveOffer]:
    """``live_offers_query`` rows as offers to rank."""
    offers = []
    for row in rows:
        facts = OfferFacts(*row[: len(_FACTS)])
        merchant_name, filled = row[len(_FACTS)], int(row[len(_FACTS) + 1] or 0)
        rules = Eligibility.of(facts)
        full = facts.quota is not None and filled >= facts.quota
        offers.append(LiveOffer(facts, merchant_name, rules, offer_categories(facts), full))
    return offers


def rank(recommendations: list[Recommendation]) -> list[Recommendation]:
    """Best affinity first; ties: ending soonest, then the larger benefit value."""
    return sorted(
        recommendations,
        key=lambda r: (-r.affinity, r.offer.ends_at, -r.offer.benefit_value, str(r.offer.id)),
    )


def recommend(
    profile: Profile,
    offers: Sequence[LiveOffer],
    held: dict[uuid.UUID, Held],
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


def recommendations_for(
    keys: Sequence[uuid.UUID],
    offers: Sequence[LiveOffer],
    profile_rows: Iterable[Any],
    held_rows: Iterable[Sequence[Any]],
) -> list[list[Recommendation]]:
    """Each customer's ranked recommendations, from ``profile_query`` and ``held_query``
    rows (an unknown customer has none)."""
    profiles = {profile.customer_id: profile for profile in map(profile_of, profile_rows)}
    held: dict[uuid.UUID, dict[uuid.UUID, Held]] = defaultdict(dict)
    for customer_id, offer_id, assignment_id, status in held_rows:
        held[customer_id][offer_id] = Held(assignment_id, status)
    return [recommend(profiles[key], offers, held[key]) if key in profiles else [] for key in keys]


class RecommendedOffersByCustomerLoader(DataLoader[uuid.UUID, list[Recommendation]]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=Recommender(context.db).for_customers)


class Recommender:
    """The recommendations of many customers at once, over any request's database: the loader
    above for GraphQL, and the benchmark's fixtures and twins for the same answers."""

    def __init__(self, db: RequestDatabase) -> None:
        self._db = db

    async def for_customers(self, keys: Sequence[uuid.UUID]) -> list[list[Recommendation]]:
        found = await self._db.execute(live_offers_query(), {"now": utcnow()})
        offers = live_offers(found.all())
        if not offers:
            return [[] for _ in keys]
        profiles = await self._db.execute(profile_query().where(col(Customer.id).in_(keys)))
        held = await self._db.execute(held_query().where(assignment_customer().in_(keys)))
        return recommendations_for(keys, offers, profiles.all(), held.all())
