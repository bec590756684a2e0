"""Aggregate analytics (scope analytics:read): `analytics { service(...) }`.

The fields convert their arguments and call ``resolvers.analytics``; every figure is computed
there, in SQL. Later KPI families (growth, ...) are further fields of ``Analytics``.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.context import Info
from resolvers import analytics as analytics_service
from schema.relay import uuid_of


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
        description="Customers now in lifecycle stage active or loyal."
    )
    complaint_rate: float | None = strawberry.field(
        description="Complaints filed in the range per 1,000 active customers."
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


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(description="Aggregate analytics (scope analytics:read).")
    def analytics(self) -> Analytics:
        return Analytics()
