"""Aggregate analytics: `analytics { service growth risk staff }`, each behind the scope it
declares (``schema.scope_field``); ``analytics`` itself needs only a staff token.

Why the scopes sit on the figures and not on ``analytics``: service stars (``staff``) are for
agents too (their own row), who hold no ``analytics:read``; so ``service`` and ``growth``
declare ``analytics:read``, ``risk`` ``risk:read`` (every role holding it holds
``analytics:read`` too) and ``staff`` ``staff_stats:read``.

The fields convert their arguments and call ``resolvers.analytics.service`` (service KPIs),
``resolvers.analytics.growth`` (growth KPIs), ``resolvers.analytics.risk`` and
``resolvers.analytics.staff``; every figure is computed there, in SQL.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from core.context import Info
from core.identity import Scope
from core.money import yuan_or_none
from resolvers.analytics import growth as growth_service
from resolvers.analytics import points as points_service
from resolvers.analytics import risk as risk_service
from resolvers.analytics import service as analytics_service
from resolvers.analytics import staff as staff_service
from resolvers.analytics.sql import ACTIVE_CUSTOMER
from resolvers.suppression import EXACT, Suppressor
from schema.analytics.points import PointsKpis
from schema.analytics.risk import RiskKpis
from schema.analytics.service import ServiceKpis
from schema.analytics.staff import StaffStars
from schema.relay import to_global_id, uuid_of
from schema.scope_field import scoped_field

SUPPRESSED = (
    "For marketers a figure of 1 to `minGroupSize` − 1 customers is null (suppressed; 0 is "
    "shown), and so is every figure derived from one."
)
BRANCH = (
    "Count one branch only (a Branch ID); all branches if left out. Roles tied to one branch "
    "(supervisor) always get theirs: naming another is FORBIDDEN."
)
RANGE = "The time range the figures cover."


def _branch_id(branch: strawberry.ID | None) -> uuid.UUID | None:
    """The ``branch`` argument every figure takes, as the Branch's UUID (null: all)."""
    return uuid_of(branch, "Branch", field="branch") if branch else None


@strawberry.type(description="How many customers have one value (tier, stage…). " + SUPPRESSED)
class GroupCount:
    key: str = strawberry.field(
        description="The group, lower case as stored: a tier code, a lifecycle stage, or "
        "upgrade / downgrade / override."
    )
    count: int | None = strawberry.field(
        description="Customers in the group (tier changes, in `tierMovements`); null if suppressed."
    )

    @classmethod
    def list_of(cls, items: list[growth_service.GroupCount]) -> list[GroupCount]:
        return [cls(key=item.key, count=item.count) for item in items]


@strawberry.type(description="A part of a whole and its rate (0–1). " + SUPPRESSED)
class Share:
    part: int | None = strawberry.field(
        description="How many of the whole meet the condition; null if suppressed."
    )
    whole: int | None = strawberry.field(description="How many were counted; null if suppressed.")
    rate: float | None = strawberry.field(
        description="`part` / `whole`, 0–1; null when either is suppressed or `whole` is 0."
    )

    @classmethod
    def from_result(cls, share: growth_service.Share) -> Share:
        return cls(part=share.part, whole=share.whole, rate=share.rate)


@strawberry.type(
    description="Offer assignments targeted in the range and how far they got. " + SUPPRESSED
)
class OfferFunnelCounts:
    targeted: int | None = strawberry.field(
        description="Offer assignments targeted in the range (one per customer and offer)."
    )
    viewed: int | None = strawberry.field(description="How many of those have been viewed.")
    accepted: int | None = strawberry.field(description="How many of those have been accepted.")
    redeemed: int | None = strawberry.field(description="How many of those have been redeemed.")
    redeemed_amount: Decimal | None = strawberry.field(
        description="The amounts of those redemptions, summed: Decimal yuan as a string; null "
        "when `redeemed` is."
    )
    redemption_rate: float | None = strawberry.field(
        description="`redeemed` / `targeted`, 0–1; null when either is null or none was targeted."
    )
    suppressed: bool = strawberry.field(description="Whether any figure here is suppressed.")

    @classmethod
    def from_result(cls, funnel: growth_service.Funnel) -> OfferFunnelCounts:
        return cls(
            targeted=funnel.targeted,
            viewed=funnel.viewed,
            accepted=funnel.accepted,
            redeemed=funnel.redeemed,
            redeemed_amount=yuan_or_none(funnel.redeemed_amount_cents),
            redemption_rate=funnel.redemption_rate,
            suppressed=funnel.suppressed,
        )


@strawberry.type(description="The offer funnel of one offer.")
class OfferFunnel:
    offer_id: strawberry.ID = strawberry.field(description="The offer (an Offer ID).")
    title: str = strawberry.field(description="The offer's title.")
    merchant_name: str = strawberry.field(description="The name of the offer's merchant.")
    funnel: OfferFunnelCounts = strawberry.field(
        description="Its assignments targeted in the range."
    )


@strawberry.type(description="The offer funnel of all of one merchant's offers.")
class MerchantFunnel:
    merchant_id: strawberry.ID = strawberry.field(description="The merchant (a Merchant ID).")
    merchant_name: str = strawberry.field(description="The merchant's name.")
    funnel: OfferFunnelCounts = strawberry.field(
        description="The assignments of all its offers targeted in the range, together."
    )


@strawberry.type(description="Growth KPIs of a range; see each field for what it counts.")
class GrowthKpis:
    customers: int | None = strawberry.field(
        description="Today's customers (a snapshot). Null if suppressed, or if the hidden groups "
        "of `customersByTier` or `customersByStage` add up to a suppressed count."
    )
    customers_by_tier: list[GroupCount] = strawberry.field(
        description="Today's customers per tier, every tier listed (a snapshot)."
    )
    customers_by_stage: list[GroupCount] = strawberry.field(
        description="Today's customers per lifecycle stage, every stage listed (a snapshot)."
    )
    dormant: int | None = strawberry.field(
        description="Customers whose lifecycle stage is now dormant (沉睡); null if suppressed."
    )
    at_risk: int | None = strawberry.field(
        description="Customers whose lifecycle stage is now at risk (流失预警); null if suppressed."
    )
    card_activation: Share = strawberry.field(
        description="活卡率: of the cards issued in the range (whole), those activated before "
        "`to` (part)."
    )
    active: Share = strawberry.field(
        description="Of the customers who existed before `to` (whole), the active ones (part). "
        + ACTIVE_CUSTOMER
    )
    churn: Share = strawberry.field(
        description="Customers whose stage became churned in the range (part), of the "
        "customers created before `from` (whole)."
    )
    tier_movements: list[GroupCount] = strawberry.field(
        description="Tier changes recorded in the range, by kind: upgrade, downgrade, override."
    )
    offer_funnel: OfferFunnelCounts = strawberry.field(
        description="All offers together; a total is null also when its hidden parts add up to "
        "a suppressed count."
    )
    offers: list[OfferFunnel] = strawberry.field(
        description="Per offer with assignments targeted in the range, by merchant name, title."
    )
    merchants: list[MerchantFunnel] = strawberry.field(
        description="Per merchant with assignments targeted in the range, by name."
    )
    min_group_size: int | None = strawberry.field(
        description="The suppression threshold applied to you (CARDCRM_STATS_MIN_GROUP_SIZE); "
        "null when you see exact figures."
    )
    _result: strawberry.Private[growth_service.GrowthKpis | None] = None

    @strawberry.field(description="Points earned, spent and held, and rewards redeemed.")
    async def points(self, info: Info) -> PointsKpis:
        kpis = self._result
        assert kpis is not None
        figures = await points_service.points_kpis(
            db=info.context.db,
            suppress=Suppressor(kpis.min_group_size) if kpis.min_group_size else EXACT,
            date_from=kpis.date_from,
            date_to=kpis.date_to,
            branch_id=kpis.branch_id,
        )
        return PointsKpis.from_result(figures)

    @classmethod
    def from_result(cls, kpis: growth_service.GrowthKpis) -> GrowthKpis:
        return cls(
            _result=kpis,
            customers=kpis.customers,
            customers_by_tier=GroupCount.list_of(kpis.by_tier),
            customers_by_stage=GroupCount.list_of(kpis.by_stage),
            dormant=kpis.dormant,
            at_risk=kpis.at_risk,
            card_activation=Share.from_result(kpis.card_activation),
            active=Share.from_result(kpis.active),
            churn=Share.from_result(kpis.churn),
            tier_movements=GroupCount.list_of(kpis.tier_movements),
            offer_funnel=OfferFunnelCounts.from_result(kpis.funnel),
            offers=[
                OfferFunnel(
                    offer_id=to_global_id("Offer", item.offer_id),
                    title=item.title,
                    merchant_name=item.merchant_name,
                    funnel=OfferFunnelCounts.from_result(item.funnel),
                )
                for item in kpis.by_offer
            ],
            merchants=[
                MerchantFunnel(
                    merchant_id=to_global_id("Merchant", item.merchant_id),
                    merchant_name=item.merchant_name,
                    funnel=OfferFunnelCounts.from_result(item.funnel),
                )
                for item in kpis.by_merchant
            ],
            min_group_size=kpis.min_group_size,
        )


@strawberry.input(description="The half-open time range [from, to), at most 366 days long.")
class DateRangeInput:
    start: datetime = strawberry.field(
        name="from", description="The start, inclusive: ISO 8601 with a UTC offset."
    )
    end: datetime = strawberry.field(
        name="to", description="The end, exclusive, after `from`: ISO 8601 with a UTC offset."
    )


@strawberry.type(description="Aggregate KPIs, each behind the scope it declares.")
class Analytics:
    @scoped_field(
        Scope.ANALYTICS_READ,
        "Complaint, SLA and satisfaction (CSAT, NPS) KPIs of a range. "
        "Staff who see one branch get that branch only.",
    )
    async def service(
        self,
        info: Info,
        range: Annotated[DateRangeInput, strawberry.argument(description=RANGE)],
        branch: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description=BRANCH + " Complaints count by their branch, customers and "
                "surveys by the customer's."
            ),
        ] = None,
    ) -> ServiceKpis | None:
        kpis = await analytics_service.service_kpis(
            db=info.context.db,
            principal=info.context.principal,
            min_group_size=info.context.settings.stats_min_group_size,
            date_from=range.start,
            date_to=range.end,
            branch_id=_branch_id(branch),
        )
        return ServiceKpis.from_result(kpis)

    @scoped_field(
        Scope.ANALYTICS_READ,
        "Customer base, activation, activity, churn, tier and offer-funnel KPIs. "
        "Marketers see groups of few customers suppressed.",
    )
    async def growth(
        self,
        info: Info,
        range: Annotated[DateRangeInput, strawberry.argument(description=RANGE)],
        branch: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description=BRANCH + " Everything counts by the customer's branch."
            ),
        ] = None,
    ) -> GrowthKpis | None:
        kpis = await growth_service.growth_kpis(
            db=info.context.db,
            principal=info.context.principal,
            min_group_size=info.context.settings.stats_min_group_size,
            date_from=range.start,
            date_to=range.end,
            branch_id=_branch_id(branch),
        )
        return GrowthKpis.from_result(kpis)

    @scoped_field(Scope.RISK_READ, "Overdue, roll-rate, collection, alert and limit KPIs.")
    async def risk(
        self,
        info: Info,
        range: Annotated[DateRangeInput, strawberry.argument(description=RANGE)],
        branch: Annotated[
            strawberry.ID | None,
            strawberry.argument(description=BRANCH + " Cards count by the customer's branch."),
        ] = None,
    ) -> RiskKpis | None:
        kpis = await risk_service.risk_kpis(
            db=info.context.db,
            principal=info.context.principal,
            timezone=info.context.settings.contact_timezone,
            date_from=range.start,
            date_to=range.end,
            branch_id=_branch_id(branch),
        )
        return RiskKpis.from_result(kpis)

    @scoped_field(
        Scope.STAFF_STATS_READ,
        "Service stars (服务之星): per agent, interactions and their CSAT, tasks done on time and "
        "overdue, complaints resolved within SLA, NPS of the surveys rating them and retention "
        "of their at-risk customers. Admins and auditors see every branch's agents, "
        "supervisors their branch's, agents only their own row.",
    )
    async def staff(
        self,
        info: Info,
        range: Annotated[DateRangeInput, strawberry.argument(description=RANGE)],
        branch: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description=BRANCH + " Agents always get their own row; staff count by their "
                "own branch."
            ),
        ] = None,
    ) -> list[StaffStars] | None:
        rows = await staff_service.staff_stars(
            db=info.context.db,
            principal=info.context.principal,
            timezone=info.context.settings.contact_timezone,
            date_from=range.start,
            date_to=range.end,
            branch_id=_branch_id(branch),
        )
        return [StaffStars.from_result(row) for row in rows]


@strawberry.type
class AnalyticsQuery:
    @scoped_field(
        None,
        "Aggregate KPIs: service (complaints, SLA, CSAT, NPS), growth, risk and service stars "
        "(staff); each declares the scope it needs.",
        staff_only=True,
    )
    def analytics(self) -> Analytics | None:
        return Analytics()
