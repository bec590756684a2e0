"""Service KPIs: complaint volumes, resolution speed, SLA and satisfaction, in SQL only.

Every figure is an aggregate the database computes (a handful of SELECTs with COUNT, SUM,
AVG, GROUP BY and one window function); no complaint or interaction row is loaded into
Python, so the cost does not grow with the range, and nothing encrypted is ever touched.

Definitions (``[from, to)`` is the requested half-open range; the branch filter, when given
or imposed, applies to ``complaints.branch_id`` and to ``customers.branch_id``):

- **complaints in range**: complaints with ``created_at`` in ``[from, to)``;
- **counts by status / category**: complaints in range per current status / category, every
  known value listed (zeros included), in the enums' order;
- **complaint rate**: complaints in range × 1000 / active customers, the customers with at
  least one card transaction in range (``analytics_sql.ACTIVE_CUSTOMER``, the definition the
  growth KPIs' active rate uses too); null when there are none;
- **resolved in range**: complaints with ``resolved_at`` in ``[from, to)``, whenever filed;
- **SLA compliance**: share of resolved-in-range complaints with ``resolved_at <= due_at``;
- **mean / p90 hours to resolve**: over resolved in range, ``resolved_at - created_at`` in
  hours; p90 is the nearest-rank percentile, the value at rank ``ceil(0.9 n)`` ascending;
- **reopen rate**: share of complaints in range with ``reopen_count > 0``;
- **CSAT**: complaint ratings (``complaints.satisfaction`` of complaints in range) and
  survey scores (``satisfaction`` of ``satisfaction_survey`` interactions with
  ``occurred_at`` in range): mean and count of each, the mean over both together, and the
  satisfied share, the fraction of all those scores that are 4 or 5.
- **NPS**: surveys (``surveys``, 0–10) answered in range, by the survey's branch (the
  customer's branch when it was sent): ``resolvers.analytics.nps``. Marketers see it
  suppressed when a group of respondents is small; every other figure here is exact.

Shares are fractions in [0, 1] and null when their denominator is zero.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlmodel import col

from core.identity import Principal, Role
from core.request_database import RequestDatabase
from models.outreach.survey import Survey
from models.service_desk.complaint import Complaint, ComplaintCategory, ComplaintStatus
from models.service_desk.interaction import Interaction, InteractionKind
from resolvers.analytics.nps import Nps, nps_columns, nps_of
from resolvers.analytics.sql import (
    KeyCount,
    active_customers,
    branch_scope,
    checked_range,
    count_where,
    counts_by,
    hours_between,
    in_branch,
    in_range,
    of_branch,
    one_row,
    ratio,
)
from resolvers.service_desk.sla import resolved_within_sla
from resolvers.suppression import EXACT, Suppressor

SATISFIED_MIN_SCORE = 4
# Who sees NPS with small groups suppressed (as growth's figures are for them).
NPS_SUPPRESSED_ROLES = frozenset({Role.MARKETER})


@dataclass(frozen=True)
class Csat:
    ratings_mean: float | None
    ratings_count: int
    surveys_mean: float | None
    surveys_count: int
    combined_mean: float | None
    satisfied_share: float | None


@dataclass(frozen=True)
class ServiceKpis:
    date_from: datetime
    date_to: datetime
    branch_id: uuid.UUID | None
    complaint_count: int
    counts_by_status: list[KeyCount]
    counts_by_category: list[KeyCount]
    active_customers: int
    complaint_rate: float | None
    resolved_count: int
    sla_compliance: float | None
    mean_hours_to_resolve: float | None
    p90_hours_to_resolve: float | None
    reopen_rate: float | None
    csat: Csat
    nps: Nps


def _score_aggregates(score: Any) -> tuple[Any, ...]:
    """Count, sum and satisfied count (4 or 5) of the non-null values of ``score``."""
    return (
        func.count(score),
        func.coalesce(func.sum(score), 0),
        count_where(score >= SATISFIED_MIN_SCORE),
    )


@dataclass(frozen=True)
class _Scores:
    count: int
    total: int
    satisfied: int

    @classmethod
    def of(cls, values: Sequence[Any]) -> _Scores:
        count, total, satisfied = values
        return cls(int(count), int(total), int(satisfied))

    @property
    def mean(self) -> float | None:
        return ratio(self.total, self.count)


@dataclass(frozen=True)
class _Filed:
    count: int
    reopened: int
    ratings: _Scores


async def _filed(db: RequestDatabase, where: list[ColumnElement[bool]]) -> _Filed:
    """Complaints in range, how many were ever reopened, and their ratings: one query."""
    reopened = count_where(col(Complaint.reopen_count) > 0)
    ratings = _score_aggregates(col(Complaint.satisfaction))
    count, reopens, *scores = await one_row(
        db, select(func.count(), reopened, *ratings).where(*where)
    )
    return _Filed(int(count), int(reopens), _Scores.of(scores))


async def _surveys(
    db: RequestDatabase, date_from: datetime, date_to: datetime, branch_id: uuid.UUID | None
) -> _Scores:
    """Scores of satisfaction surveys held in range, by the branch of the surveyed customer."""
    query = (
        select(*_score_aggregates(col(Interaction.satisfaction)))
        .select_from(Interaction)
        .where(
            col(Interaction.kind) == InteractionKind.SATISFACTION_SURVEY.value,
            *in_range(col(Interaction.occurred_at), date_from, date_to),
        )
    )
    query = of_branch(query, col(Interaction.customer_id), branch_id)
    return _Scores.of(await one_row(db, query))


@dataclass(frozen=True)
class _Resolution:
    count: int
    within_sla: int
    mean_hours: float | None
    p90_hours: float | None


async def _resolution(db: RequestDatabase, where: list[ColumnElement[bool]]) -> _Resolution:
    """SLA, mean and nearest-rank p90 over resolved complaints, in one window query.

    Each row gets its rank ``rn`` by hours and the row count ``n``; the p90 is the smallest
    hours value whose rank satisfies ``10 rn >= 9 n``, i.e. the one at rank ``ceil(0.9 n)``.
    """
    hours = hours_between(col(Complaint.created_at), col(Complaint.resolved_at))
    ranked = (
        select(
            hours.label("hours"),
            case((resolved_within_sla(), 1), else_=0).label("ok"),
            func.row_number().over(order_by=hours).label("rn"),
            func.count().over().label("n"),
        )
        .where(*where)
        .subquery()
    )
    p90 = func.min(case((ranked.c.rn * 10 >= ranked.c.n * 9, ranked.c.hours)))
    query = select(
        func.count(), func.coalesce(func.sum(ranked.c.ok), 0), func.avg(ranked.c.hours), p90
    ).select_from(ranked)
    count, ok, mean, p90_value = await one_row(db, query)
    return _Resolution(
        int(count),
        int(ok),
        None if mean is None else float(mean),
        None if p90_value is None else float(p90_value),
    )


def _csat(ratings: _Scores, surveys: _Scores) -> Csat:
    count = ratings.count + surveys.count
    return Csat(
        ratings_mean=ratings.mean,
        ratings_count=ratings.count,
        surveys_mean=surveys.mean,
        surveys_count=surveys.count,
        combined_mean=ratio(ratings.total + surveys.total, count),
        satisfied_share=ratio(ratings.satisfied + surveys.satisfied, count),
    )


async def survey_nps(
    db: RequestDatabase,
    suppress: Suppressor,
    date_from: datetime,
    date_to: datetime,
    branch_id: uuid.UUID | None,
) -> Nps:
    """NPS of the surveys answered in range, of the branch (all when None): one query."""
    query = select(*nps_columns(col(Survey.score), col(Survey.customer_id))).where(
        col(Survey.score).is_not(None),
        *in_range(col(Survey.answered_at), date_from, date_to),
        *in_branch(Survey.branch_id, branch_id),
    )
    return nps_of(await one_row(db, query), suppress)


async def service_kpis(
    *,
    db: RequestDatabase,
    principal: Principal,
    min_group_size: int,
    date_from: datetime,
    date_to: datetime,
    branch_id: uuid.UUID | None,
) -> ServiceKpis:
    """The service KPIs of ``[date_from, date_to)`` (see the module docstring for each one).

    The caller holds ``analytics:read`` (declared on the ``analytics`` field). Staff who see
    one branch only get that branch (asking for another is FORBIDDEN); the others get all
    branches, or the one they name.
    """
    checked_range(date_from, date_to)
    branch_id = await branch_scope(db, principal, branch_id)
    suppress = Suppressor(min_group_size) if principal.role in NPS_SUPPRESSED_ROLES else EXACT
    of_branch = in_branch(Complaint.branch_id, branch_id)
    filed_where = [*in_range(col(Complaint.created_at), date_from, date_to), *of_branch]
    resolved_where = [*in_range(col(Complaint.resolved_at), date_from, date_to), *of_branch]
    filed = await _filed(db, filed_where)
    resolution = await _resolution(db, resolved_where)
    active = int(await db.scalar(active_customers(date_from, date_to, branch_id)))
    statuses = [status.value for status in ComplaintStatus]
    categories = [category.value for category in ComplaintCategory]
    return ServiceKpis(
        date_from=date_from,
        date_to=date_to,
        branch_id=branch_id,
        complaint_count=filed.count,
        counts_by_status=await counts_by(db, col(Complaint.status), statuses, filed_where),
        counts_by_category=await counts_by(db, col(Complaint.category), categories, filed_where),
        active_customers=active,
        complaint_rate=ratio(filed.count * 1000, active),
        resolved_count=resolution.count,
        sla_compliance=ratio(resolution.within_sla, resolution.count),
        mean_hours_to_resolve=resolution.mean_hours,
        p90_hours_to_resolve=resolution.p90_hours,
        reopen_rate=ratio(filed.reopened, filed.count),
        csat=_csat(filed.ratings, await _surveys(db, date_from, date_to, branch_id)),
        nps=await survey_nps(db, suppress, date_from, date_to, branch_id),
    )
