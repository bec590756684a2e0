"""Growth KPIs: the customer base by tier and stage, activation, activity, churn, tier
movements and the offer funnel — all computed by the database, nothing decrypted.

Definitions (``[from, to)`` is the requested half-open range; the branch filter, when given
or imposed, applies to the customer's branch):

- **customers by tier / by lifecycle stage**: today's customers per tier code / stage, every
  known value listed (a snapshot: the range does not apply); **dormant** and **at risk** are
  two of those stage counts; read from the counts the database keeps
  (``resolvers.analytics.customer_base``), not counted per request;
- **card activation rate (活卡率)**: of the cards issued in range, the share activated
  (``activated_at`` set, before ``to``);
- **active rate**: of the customers who existed before ``to``, the share of active ones
  (``analytics_sql.ACTIVE_CUSTOMER``: at least one card transaction in range, the definition
  the service KPIs' complaint rate uses too);
- **churn rate**: customers whose stage became ``churned`` in range (lifecycle history) per
  customer who existed before ``from``;
- **tier movements**: tier-history entries in range by kind (upgrade, downgrade, override);
- **offer funnel**: offer assignments targeted in range, and how many of them were since
  viewed, accepted and redeemed, with the redeemed amount; per offer, per merchant and in
  total; the **redemption rate** is redeemed / targeted.

Marketers see small groups suppressed (``resolvers.suppression``): any count of fewer than
``stats_min_group_size`` customers, and every figure derived from one, is null; so is a total
whose hidden parts add up to such a small group, since subtracting the visible parts would
reveal them. Other roles see exact figures for the customers they may see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, distinct, func, select
from sqlmodel import col

from core.identity import Principal, Role
from core.request_database import RequestDatabase
from models.cards.card import Card
from models.customers.customer import Customer, LifecycleHistory, LifecycleStage
from models.growth.offer import Offer, OfferAssignment
from models.growth.tier import TierChange, TierHistory
from models.merchants.merchant import Merchant
from resolvers.analytics.customer_base import customer_base
from resolvers.analytics.sql import (
    KeyCount,
    active_customers,
    branch_scope,
    checked_range,
    count_where,
    in_branch,
    in_range,
    of_branch,
    one_row,
    ratio,
)
from resolvers.suppression import EXACT, Suppressor

SUPPRESSED_ROLES = frozenset({Role.MARKETER, Role.MERCHANT})


@dataclass(frozen=True)
class GroupCount:
    key: str
    count: int | None


def _cells(suppress: Suppressor, items: list[KeyCount]) -> list[GroupCount]:
    return [GroupCount(item.key, suppress.count(item.count)) for item in items]


def _total(suppress: Suppressor, parts: list[int]) -> int | None:
    """The sum of some cells, hidden also when the hidden cells add up to a small group:
    otherwise total minus the visible cells would give a suppressed cell away."""
    hidden = sum(part for part in parts if suppress.hides(part))
    total = sum(parts)
    return None if suppress.hides(total) or suppress.hides(hidden) else total


@dataclass(frozen=True)
class Share:
    """A part of a whole; ``rate`` is part / whole, null when either is suppressed or 0."""

    part: int | None
    whole: int | None
    rate: float | None


@dataclass(frozen=True)
class Funnel:
    targeted: int | None
    viewed: int | None
    accepted: int | None
    redeemed: int | None
    redeemed_amount_cents: int | None
    redemption_rate: float | None
    suppressed: bool


@dataclass(frozen=True)
class OfferFunnel:
    offer_id: uuid.UUID
    title: str
    merchant_name: str
    funnel: Funnel


@dataclass(frozen=True)
class MerchantFunnel:
    merchant_id: uuid.UUID
    merchant_name: str
    funnel: Funnel


@dataclass(frozen=True)
class GrowthKpis:
    date_from: datetime
    date_to: datetime
    branch_id: uuid.UUID | None
    customers: int | None
    by_tier: list[GroupCount]
    by_stage: list[GroupCount]
    dormant: int | None
    at_risk: int | None
    card_activation: Share
    active: Share
    churn: Share
    tier_movements: list[GroupCount]
    funnel: Funnel
    by_offer: list[OfferFunnel]
    by_merchant: list[MerchantFunnel]
    min_group_size: int | None


def _share(suppress: Suppressor, part: int, whole: int) -> Share:
    shown_part, shown_whole = suppress.count(part), suppress.count(whole)
    rate = None if shown_part is None or shown_whole is None else ratio(part, whole)
    return Share(shown_part, shown_whole, rate)


def _funnel(suppress: Suppressor, rows: list[tuple[Any, ...]]) -> Funnel:
    """The funnel of one offer's row, or the total of several (see ``_total``); each row
    holds targeted, viewed, accepted and redeemed counts and the redeemed amount."""
    columns = [[int(row[index] or 0) for row in rows] for index in range(5)]
    targeted, redeemed, amount = sum(columns[0]), sum(columns[3]), sum(columns[4])
    shown = [_total(suppress, column) for column in columns[:4]]
    return Funnel(
        targeted=shown[0],
        viewed=shown[1],
        accepted=shown[2],
        redeemed=shown[3],
        redeemed_amount_cents=None if shown[3] is None else amount,
        redemption_rate=None if None in (shown[0], shown[3]) else ratio(redeemed, targeted),
        suppressed=None in shown,
    )


def _customers(
    suppress: Suppressor, by_tier: list[KeyCount], by_stage: list[KeyCount]
) -> int | None:
    """All customers: the total of both breakdowns, so hidden when either would leak."""
    totals = [_total(suppress, [item.count for item in items]) for items in (by_tier, by_stage)]
    return None if None in totals else totals[0]


def _customers_where(branch_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    return in_branch(Customer.branch_id, branch_id)


async def _card_activation(
    db: RequestDatabase, date_from: datetime, date_to: datetime, branch_id: uuid.UUID | None
) -> tuple[int, int]:
    activated = count_where(
        col(Card.activated_at).is_not(None) & (col(Card.activated_at) < date_to)
    )
    query = (
        select(activated, func.count())
        .select_from(Card)
        .where(*in_range(col(Card.issued_at), date_from, date_to))
    )
    query = of_branch(query, col(Card.customer_id), branch_id)
    part, whole = await one_row(db, query)
    return int(part), int(whole)


async def _active(
    db: RequestDatabase, date_from: datetime, date_to: datetime, branch_id: uuid.UUID | None
) -> tuple[int, int]:
    spenders = active_customers(date_from, date_to, branch_id)
    existing = (
        select(func.count())
        .select_from(Customer)
        .where(col(Customer.created_at) < date_to, *_customers_where(branch_id))
    )
    part, whole = await one_row(db, select(spenders.scalar_subquery(), existing.scalar_subquery()))
    return int(part), int(whole)


async def _churn(
    db: RequestDatabase, date_from: datetime, date_to: datetime, branch_id: uuid.UUID | None
) -> tuple[int, int]:
    churned = (
        select(func.count(distinct(col(LifecycleHistory.customer_id))))
        .select_from(LifecycleHistory)
        .where(
            col(LifecycleHistory.to_stage) == LifecycleStage.CHURNED.value,
            *in_range(col(LifecycleHistory.created_at), date_from, date_to),
        )
    )
    churned = of_branch(churned, col(LifecycleHistory.customer_id), branch_id)
    base = (
        select(func.count())
        .select_from(Customer)
        .where(col(Customer.created_at) < date_from, *_customers_where(branch_id))
    )
    part, whole = await one_row(db, select(churned.scalar_subquery(), base.scalar_subquery()))
    return int(part), int(whole)


async def _tier_movements(
    db: RequestDatabase, date_from: datetime, date_to: datetime, branch_id: uuid.UUID | None
) -> list[KeyCount]:
    query = (
        select(col(TierHistory.change), func.count())
        .select_from(TierHistory)
        .where(*in_range(col(TierHistory.created_at), date_from, date_to))
        .group_by(col(TierHistory.change))
    )
    query = of_branch(query, col(TierHistory.customer_id), branch_id)
    counts = {str(key): int(count) for key, count in map(tuple, (await db.execute(query)).all())}
    kinds = (TierChange.UPGRADE, TierChange.DOWNGRADE, TierChange.OVERRIDE)
    return [KeyCount(kind.value, counts.get(kind.value, 0)) for kind in kinds]


def _funnel_columns() -> tuple[Any, ...]:
    return (
        func.count(col(OfferAssignment.id)),
        func.count(col(OfferAssignment.viewed_at)),
        func.count(col(OfferAssignment.accepted_at)),
        func.count(col(OfferAssignment.redeemed_at)),
        func.coalesce(func.sum(col(OfferAssignment.redeemed_amount_cents)), 0),
    )


async def _funnel_rows(
    db: RequestDatabase, date_from: datetime, date_to: datetime, branch_id: uuid.UUID | None
) -> list[tuple[Any, ...]]:
    """One row per offer: id, title, merchant id and name, then the funnel counts."""
    query = (
        select(
            col(Offer.id),
            col(Offer.title),
            col(Merchant.id),
            col(Merchant.name),
            *_funnel_columns(),
        )
        .select_from(OfferAssignment)
        .join(Offer, col(Offer.id) == col(OfferAssignment.offer_id))
        .join(Merchant, col(Merchant.id) == col(Offer.merchant_id))
        .where(*in_range(col(OfferAssignment.targeted_at), date_from, date_to))
        .group_by(col(Offer.id), col(Offer.title), col(Merchant.id), col(Merchant.name))
        .order_by(col(Merchant.name), col(Offer.title), col(Offer.id))
    )
    query = of_branch(query, col(OfferAssignment.customer_id), branch_id)
    return [tuple(row) for row in (await db.execute(query)).all()]


def _counts(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The funnel columns of offer rows; an assignment is one customer, so they count people."""
    return [row[4:] for row in rows]


def _by_merchant(suppress: Suppressor, rows: list[tuple[Any, ...]]) -> list[MerchantFunnel]:
    merchants: dict[uuid.UUID, list[tuple[Any, ...]]] = {}
    for row in rows:
        merchants.setdefault(row[2], []).append(row)
    return [
        MerchantFunnel(merchant_id, group[0][3], _funnel(suppress, _counts(group)))
        for merchant_id, group in merchants.items()
    ]


async def growth_kpis(
    *,
    db: RequestDatabase,
    principal: Principal,
    min_group_size: int,
    date_from: datetime,
    date_to: datetime,
    branch_id: uuid.UUID | None,
) -> GrowthKpis:
    """The growth KPIs of ``[date_from, date_to)`` (see the module docstring for each one).

    The caller holds ``analytics:read`` (declared on the ``analytics`` field); branch scoping
    is the service KPIs' (one-branch staff get theirs).
    """
    checked_range(date_from, date_to)
    branch_id = await branch_scope(db, principal, branch_id)
    suppress = Suppressor(min_group_size) if principal.role in SUPPRESSED_ROLES else EXACT
    by_tier, by_stage = await customer_base(db, branch_id)
    stage_count = {item.key: item.count for item in by_stage}
    funnel_rows = await _funnel_rows(db, date_from, date_to, branch_id)
    return GrowthKpis(
        date_from=date_from,
        date_to=date_to,
        branch_id=branch_id,
        customers=_customers(suppress, by_tier, by_stage),
        by_tier=_cells(suppress, by_tier),
        by_stage=_cells(suppress, by_stage),
        dormant=suppress.count(stage_count[LifecycleStage.DORMANT.value]),
        at_risk=suppress.count(stage_count[LifecycleStage.AT_RISK.value]),
        card_activation=_share(
            suppress, *await _card_activation(db, date_from, date_to, branch_id)
        ),
        active=_share(suppress, *await _active(db, date_from, date_to, branch_id)),
        churn=_share(suppress, *await _churn(db, date_from, date_to, branch_id)),
        tier_movements=_cells(suppress, await _tier_movements(db, date_from, date_to, branch_id)),
        funnel=_funnel(suppress, _counts(funnel_rows)),
        by_offer=[
            OfferFunnel(row[0], row[1], row[3], _funnel(suppress, [row[4:]])) for row in funnel_rows
        ],
        by_merchant=_by_merchant(suppress, funnel_rows),
        min_group_size=suppress.min_group_size or None,
    )
