"""Who an offer is for: the one eligibility predicate that targeting and recommendation share.

An offer's rules are conjunctive, and an empty list means "anyone":

- tier: the customer's tier code is in ``eligible_tiers``;
- stage: the customer's lifecycle stage is in ``eligible_stages``;
- segments: the customer shares at least one segment with ``eligible_segments``;
- spend: with ``spend_categories``, the customer's window spend in those categories (from the
  last evaluation's ``customer_metrics.category_spend``) is at least ``min_spend_cents`` and
  above zero; without them, a ``min_spend_cents`` applies to the whole window spend
  (``monetary_cents``). A customer never evaluated has no metrics and so meets no spend rule;
  offers without spend rules do not need metrics at all.

Marketing consent is separate: it decides whom we may *contact* (``targetOffer``), not what a
customer may see when they open the app. A customer has consented to marketing when they
consented on at least one channel (push, SMS, e-mail or phone); which channel a message then
uses is the campaign's business, under the contact rules.

SQL does the cheap, indexable part (tier, stage, consent, has metrics); ``is_eligible`` is the
whole predicate in Python, over plain values, so JSON list columns behave the same on SQLite
and PostgreSQL and the rules can be property-tested.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, or_
from sqlmodel import col, select

from models.customers.customer import Customer
from models.growth.customer_metrics import CustomerMetrics
from models.growth.tier import Tier

MARKETING_CHANNELS = ("push", "sms", "email", "phone")


class OfferRules(Protocol):
    """What eligibility and affinity read of an offer: an ``Offer`` row, or the plain facts
    recommendation reads (``recommendation.OfferFacts``)."""

    @property
    def category(self) -> str: ...
    @property
    def min_spend_cents(self) -> int: ...
    @property
    def eligible_tiers(self) -> list[str]: ...
    @property
    def eligible_stages(self) -> list[str]: ...
    @property
    def eligible_segments(self) -> list[str]: ...
    @property
    def spend_categories(self) -> list[str]: ...


@dataclass(frozen=True)
class Eligibility:
    tiers: frozenset[str] = frozenset()
    stages: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    spend_categories: frozenset[str] = frozenset()
    min_spend_cents: int = 0

    @classmethod
    def of(cls, offer: OfferRules) -> Eligibility:
        return cls(
            tiers=frozenset(offer.eligible_tiers),
            stages=frozenset(offer.eligible_stages),
            segments=frozenset(offer.eligible_segments),
            spend_categories=frozenset(offer.spend_categories),
            min_spend_cents=offer.min_spend_cents,
        )

    @property
    def has_spend_rule(self) -> bool:
        return bool(self.spend_categories) or self.min_spend_cents > 0


@dataclass(frozen=True)
class Spend:
    """A customer's spend in the evaluation window, in cents."""

    monetary_cents: int = 0
    by_category: Mapping[str, int] = field(default_factory=dict)

    def in_categories(self, categories: Iterable[str]) -> int:
        return sum(int(self.by_category.get(category, 0) or 0) for category in set(categories))

    @property
    def total_cents(self) -> int:
        return self.monetary_cents or sum(int(v or 0) for v in self.by_category.values())


@dataclass(frozen=True)
class Profile:
    """What eligibility looks at: one customer's tier, stage, segments and spend."""

    customer_id: uuid.UUID
    tier: str
    stage: str
    segments: frozenset[str] = frozenset()
    spend: Spend | None = None  # None: never evaluated


def _meets_spend(rules: Eligibility, spend: Spend | None) -> bool:
    if not rules.has_spend_rule:
        return True
    if spend is None:
        return False
    if rules.spend_categories:
        return spend.in_categories(rules.spend_categories) >= max(rules.min_spend_cents, 1)
    return spend.monetary_cents >= rules.min_spend_cents


def is_eligible(rules: Eligibility, profile: Profile) -> bool:
    """The whole predicate; an empty rule list admits everyone."""
    return (
        (not rules.tiers or profile.tier in rules.tiers)
        and (not rules.stages or profile.stage in rules.stages)
        and (not rules.segments or not rules.segments.isdisjoint(profile.segments))
        and _meets_spend(rules, profile.spend)
    )


def affinity(spend: Spend | None, categories: Iterable[str]) -> float:
    """The share (0..1) of the customer's window spend that went to these categories."""
    if spend is None or spend.total_cents <= 0:
        return 0.0
    return min(spend.in_categories(categories) / spend.total_cents, 1.0)


def offer_categories(offer: OfferRules) -> frozenset[str]:
    """The categories an offer's affinity is measured in: its own and its spend categories."""
    return frozenset({offer.category, *offer.spend_categories})


def marketing_consent() -> ColumnElement[bool]:
    """SQL: consented on at least one marketing channel."""
    return or_(*(col(getattr(Customer, f"consent_{channel}")) for channel in MARKETING_CHANNELS))


def has_marketing_consent(customer: Customer) -> bool:
    return any(getattr(customer, f"consent_{channel}") for channel in MARKETING_CHANNELS)


def profile_query() -> Select[Any]:
    """Customers with what ``profile_of`` needs: tier code and (if evaluated) metrics."""
    columns: list[Any] = [
        col(Customer.id),
        col(Tier.code).label("tier"),
        col(Customer.lifecycle_stage),
        col(Customer.segments),
        col(CustomerMetrics.customer_id).label("metrics_of"),
        col(CustomerMetrics.monetary_cents),
        col(CustomerMetrics.category_spend),
    ]
    query: Select[Any] = (
        select(*columns)
        .join(Tier, col(Tier.id) == col(Customer.tier_id))
        .outerjoin(CustomerMetrics, col(CustomerMetrics.customer_id) == col(Customer.id))
    )
    return query


def prefilter(rules: Eligibility) -> list[ColumnElement[bool]]:
    """The part of ``is_eligible`` SQL checks cheaply on ``profile_query`` (a superset)."""
    conditions: list[ColumnElement[bool]] = []
    if rules.tiers:
        conditions.append(col(Tier.code).in_(sorted(rules.tiers)))
    if rules.stages:
        conditions.append(col(Customer.lifecycle_stage).in_(sorted(rules.stages)))
    if rules.has_spend_rule:
        conditions.append(col(CustomerMetrics.customer_id).is_not(None))
    if rules.min_spend_cents > 0 and not rules.spend_categories:
        conditions.append(col(CustomerMetrics.monetary_cents) >= rules.min_spend_cents)
    return conditions


def profile_of(row: Any) -> Profile:
    """A ``profile_query`` row (a result row or a plain tuple, in its order) as a
    ``Profile``."""
    customer_id, tier, stage, segments, metrics_of, monetary_cents, category_spend = row
    spend = None
    if metrics_of is not None:
        spend = Spend(int(monetary_cents or 0), dict(category_spend or {}))
    return Profile(
        customer_id=customer_id,
        tier=tier,
        stage=stage,
        segments=frozenset(segments or ()),
        spend=spend,
    )
