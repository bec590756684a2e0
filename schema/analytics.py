"""Aggregate analytics (scope analytics:read): `analytics { service(...) growth(...) }`.

The fields convert their arguments and call ``resolvers.analytics`` (service KPIs) and
``resolvers.analytics_growth`` (growth KPIs); every figure is computed there, in SQL.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.context import Info
from auth.scopes import Scope
from resolvers import analytics as analytics_service
from resolvers import analytics_growth as growth_service
from resolvers.analytics_sql import ACTIVE_CUSTOMER
from schema.money import yuan_or_none
from schema.policy_field import scoped_field
from schema.relay import to_global_id, uuid_of

SUPPRESSED = "Null when suppressed: fewer customers than the minimum group size."


@strawberry.type(description="How many records have one value of a code (status, category…).")
class KeyCount:
    key: str
    count: int


@strawberry.type(description="Customer satisfaction (scores 1–5) from ratings and surveys.")
class Csat:
    ratings_mean: float | None = strawberry.field(
        description="Mean rating given on complaints filed in the range."
    )
    ratings_count: int
    surveys_mean: float | None = strawberry.field(
        description="Mean score of satisfaction surveys held in the range."
    )
    surveys_count: int
    combined_mean: float | None = strawberry.field(description="Mean over ratings and surveys.")
    satisfied_share: float | None = strawberry.field(
        description="Share (0–1) of all those scores that are 4 or 5."
    )

    @classmethod
    def from_result(cls, csat: analytics_service.Csat) -> Csat:
        return cls(
            ratings_mean=csat.ratings_mean,
            ratings_count=csat.ratings_count,
            surveys_mean=csat.surveys_mean,
            surveys_count=csat.surveys_count,
            combined_mean=csat.combined_mean,
            satisfied_share=csat.satisfied_share,
        )


@strawberry.type(
    description="Service KPIs of a range; shares are 0–1 and null when nothing was counted."
)
class ServiceKpis:
    complaint_count: int = strawberry.field(description="Complaints filed in the range.")
    counts_by_status: list[KeyCount] = strawberry.field(
        description="Complaints filed in the range by current status; every status listed."
    )
    counts_by_category: list[KeyCount] = strawberry.field(
        description="Complaints filed in the range by category; every category listed."
    )
    active_customers: int = strawberry.field(
        description=f"Active customers. {ACTIVE_CUSTOMER} Same count as growth's `active.part`."
    )
    complaint_rate: float | None = strawberry.field(
        description="Complaints filed in the range per 1,000 active customers (`activeCustomers`)."
    )
    resolved_count: int = strawberry.field(description="Complaints resolved in the range.")
    sla_compliance: float | None = strawberry.field(
        description="Share of complaints resolved in the range resolved by their due time."
    )
    mean_hours_to_resolve: float | None = strawberry.field(
        description="Mean hours from filing to resolution, over complaints resolved in the range."
    )
    p90_hours_to_resolve: float | None = strawberry.field(
        description="Nearest-rank 90th percentile of those hours."
    )
    reopen_rate: float | None = strawberry.field(
        description="Share of complaints filed in the range that were ever reopened."
    )
    csat: Csat

    @classmethod
    def from_result(cls, kpis: analytics_service.ServiceKpis) -> ServiceKpis:
        return cls(
            complaint_count=kpis.complaint_count,
            counts_by_status=[KeyCount(key=c.key, count=c.count) for c in kpis.counts_by_status],
            counts_by_category=[
                KeyCount(key=c.key, count=c.count) for c in kpis.counts_by_category
            ],
            active_customers=kpis.active_customers,
            complaint_rate=kpis.complaint_rate,
            resolved_count=kpis.resolved_count,
            sla_compliance=kpis.sla_compliance,
            mean_hours_to_resolve=kpis.mean_hours_to_resolve,
            p90_hours_to_resolve=kpis.p90_hours_to_resolve,
            reopen_rate=kpis.reopen_rate,
            csat=Csat.from_result(kpis.csat),
        )


@strawberry.type(description="How many customers have one value (tier, stage…). " + SUPPRESSED)
class GroupCount:
    key: str
    count: int | None

    @classmethod
    def list_of(cls, items: list[growth_service.GroupCount]) -> list[GroupCount]:
        return [cls(key=item.key, count=item.count) for item in items]


@strawberry.type(description="A part of a whole and its rate (0–1). " + SUPPRESSED)
class Share:
    part: int | None
    whole: int | None
    rate: float | None

    @classmethod
    def from_result(cls, share: growth_service.Share) -> Share:
        return cls(part=share.part, whole=share.whole, rate=share.rate)


@strawberry.type(
    description="Offer assignments targeted in the range and how far they got. " + SUPPRESSED
)
class OfferFunnelCounts:
    targeted: int | None
    viewed: int | None
    accepted: int | None
    redeemed: int | None
    redeemed_amount: Decimal | None = strawberry.field(description="In yuan.")
    redemption_rate: float | None = strawberry.field(description="Redeemed / targeted.")
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
    offer_id: strawberry.ID
    title: str
    merchant_name: str
    funnel: OfferFunnelCounts


@strawberry.type(description="The offer funnel of all of one merchant's offers.")
class MerchantFunnel:
    merchant_id: strawberry.ID
    merchant_name: str
    funnel: OfferFunnelCounts


@strawberry.type(description="Growth KPIs of a range; see each field for what it counts.")
class GrowthKpis:
    customers: int | None = strawberry.field(description="Today's customers. " + SUPPRESSED)
    customers_by_tier: list[GroupCount] = strawberry.field(
        description="Today's customers per tier, every tier listed (a snapshot)."
    )
    customers_by_stage: list[GroupCount] = strawberry.field(
        description="Today's customers per lifecycle stage, every stage listed (a snapshot)."
    )
    dormant: int | None = strawberry.field(description="Customers now dormant (沉睡).")
    at_risk: int | None = strawberry.field(description="Customers now at risk (流失预警).")
    card_activation: Share = strawberry.field(
        description="活卡率: of the cards issued in the range, those activated."
    )
    active: Share = strawberry.field(
        description="Of the customers who existed before `to` (whole), the active ones (part). "
        + ACTIVE_CUSTOMER
    )
    churn: Share = strawberry.field(
        description="Customers who became churned in the range, per customer existing at `from`."
    )
    tier_movements: list[GroupCount] = strawberry.field(
        description="Tier changes in the range: upgrade, downgrade, override."
    )
    offer_funnel: OfferFunnelCounts = strawberry.field(description="All offers together.")
    offers: list[OfferFunnel] = strawberry.field(description="Per offer targeted in range.")
    merchants: list[MerchantFunnel] = strawberry.field(description="Per merchant.")
    min_group_size: int | None = strawberry.field(
        description="The suppression threshold applied to you; null when none is."
    )

    @classmethod
    def from_result(cls, kpis: growth_service.GrowthKpis) -> GrowthKpis:
        return cls(
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
    start: datetime = strawberry.field(name="from", description="Inclusive; with a UTC offset.")
    end: datetime = strawberry.field(name="to", description="Exclusive; with a UTC offset.")


@strawberry.type(description="Aggregate KPIs; each needs the analytics:read scope.")
class Analytics:
    @strawberry.field(
        description="Complaint, SLA and satisfaction KPIs of a range (scope analytics:read). "
        "Staff who see one branch get that branch only."
    )
    async def service(
        self, info: Info, range: DateRangeInput, branch: strawberry.ID | None = None
    ) -> ServiceKpis:
        kpis = await analytics_service.service_kpis(
            db=info.context.db,
            principal=info.context.principal,
            date_from=range.start,
            date_to=range.end,
            branch_id=uuid_of(branch, "Branch", field="branch") if branch else None,
        )
        return ServiceKpis.from_result(kpis)

    @strawberry.field(
        description="Customer base, activation, activity, churn, tier and offer-funnel KPIs "
        "(scope analytics:read). Marketers see groups of few customers suppressed."
    )
    async def growth(
        self, info: Info, range: DateRangeInput, branch: strawberry.ID | None = None
    ) -> GrowthKpis:
        kpis = await growth_service.growth_kpis(
            db=info.context.db,
            principal=info.context.principal,
            min_group_size=info.context.settings.stats_min_group_size,
            date_from=range.start,
            date_to=range.end,
            branch_id=uuid_of(branch, "Branch", field="branch") if branch else None,
        )
        return GrowthKpis.from_result(kpis)


@strawberry.type
class AnalyticsQuery:
    @scoped_field(Scope.ANALYTICS_READ, "Aggregate analytics.")
    def analytics(self) -> Analytics | None:
        return Analytics()
