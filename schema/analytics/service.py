"""The service KPIs of a range (``analytics.service``): complaints, SLA and satisfaction
(CSAT and NPS)."""

from __future__ import annotations

import strawberry

from resolvers.analytics import nps as analytics_nps
from resolvers.analytics import service as analytics_service
from resolvers.analytics.sql import ACTIVE_CUSTOMER


@strawberry.type(description="How many records have one value of a code (status, category…).")
class KeyCount:
    key: str = strawberry.field(
        description="The value as stored, lower case (e.g. `in_progress`, `billing_dispute`)."
    )
    count: int = strawberry.field(description="How many complaints filed in the range have it.")


@strawberry.type(description="Customer satisfaction (scores 1–5) from ratings and surveys.")
class Csat:
    ratings_mean: float | None = strawberry.field(
        description="Mean rating (1–5) of the complaints filed in the range that were rated; "
        "null if none was."
    )
    ratings_count: int = strawberry.field(
        description="How many complaints filed in the range were rated (`rateComplaint`)."
    )
    surveys_mean: float | None = strawberry.field(
        description="Mean score (1–5) of the satisfaction surveys held in the range; null if none."
    )
    surveys_count: int = strawberry.field(
        description="How many SATISFACTION_SURVEY interactions in the range carry a score."
    )
    combined_mean: float | None = strawberry.field(
        description="Mean of all those ratings and survey scores together (1–5); null if none."
    )
    satisfied_share: float | None = strawberry.field(
        description="Share (0–1) of all those scores that are 4 or 5; null if none."
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


NPS_SUPPRESSED = (
    "For marketers every figure here is null when any group of respondents (all, promoters, "
    "passives, detractors) holds 1 to `minGroupSize` − 1 customers."
)


@strawberry.type(
    description="Net Promoter Score of the surveys (0–10) answered in the range: promoters "
    "score 9–10, passives 7–8, detractors 0–6. " + NPS_SUPPRESSED
)
class Nps:
    responses: int | None = strawberry.field(description="Surveys answered in the range.")
    promoters: int | None = strawberry.field(description="Answers of 9 or 10.")
    passives: int | None = strawberry.field(description="Answers of 7 or 8.")
    detractors: int | None = strawberry.field(description="Answers of 0 to 6.")
    score: float | None = strawberry.field(
        description="% promoters − % detractors, from −100 to 100; null without responses."
    )
    suppressed: bool = strawberry.field(description="Whether the figures are hidden.")

    @classmethod
    def from_result(cls, nps: analytics_nps.Nps) -> Nps:
        return cls(
            responses=nps.responses,
            promoters=nps.promoters,
            passives=nps.passives,
            detractors=nps.detractors,
            score=nps.score,
            suppressed=nps.suppressed,
        )


@strawberry.type(
    description="Service KPIs of a range; shares are 0–1 and null when nothing was counted. "
    "Exact figures, but for `nps` seen by marketers."
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
        description="Complaints filed in the range per 1,000 active customers (`activeCustomers`); "
        "null when there are none."
    )
    resolved_count: int = strawberry.field(description="Complaints resolved in the range.")
    sla_compliance: float | None = strawberry.field(
        description="Share (0–1) of the complaints resolved in the range that were resolved by "
        "their `dueAt`; null if none was resolved."
    )
    mean_hours_to_resolve: float | None = strawberry.field(
        description="Mean hours from filing to resolution, over complaints resolved in the range; "
        "null if none."
    )
    p90_hours_to_resolve: float | None = strawberry.field(
        description="Nearest-rank 90th percentile of those hours (the value at rank ⌈0.9 n⌉ "
        "ascending); null if none."
    )
    reopen_rate: float | None = strawberry.field(
        description="Share (0–1) of the complaints filed in the range that were ever reopened; "
        "null if none was filed."
    )
    csat: Csat = strawberry.field(
        description="Satisfaction: complaint ratings and survey scores of the range."
    )
    nps: Nps = strawberry.field(
        description="Net Promoter Score of the satisfaction surveys (`Survey`) answered in the "
        "range, by the survey's branch."
    )

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
            nps=Nps.from_result(kpis.nps),
        )
