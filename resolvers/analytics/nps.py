"""Net Promoter Score (NPS), the one definition ``analytics.service`` and ``analytics.staff``
both count with.

A survey counts when it was answered (``answered_at``) in the range. Scores 9–10 are
promoters, 7–8 passives, 0–6 detractors; the score is the percentage of promoters minus the
percentage of detractors, from −100 to 100 (null without responses).

Suppression (``resolvers.suppression``, for marketers): the four counts come from four groups
of distinct customers (all respondents, and each class). Hiding only the small class would not
help, since the others subtract to it, so when *any* of those groups holds 1 to
``min_group_size − 1`` customers, every NPS figure is null and ``suppressed`` says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, distinct, func

from resolvers.analytics.sql import count_where
from resolvers.suppression import Suppressor

PROMOTER_MIN, PASSIVE_MIN = 9, 7


@dataclass(frozen=True)
class Nps:
    responses: int | None
    promoters: int | None
    passives: int | None
    detractors: int | None
    score: float | None
    suppressed: bool


NO_RESPONSES = Nps(0, 0, 0, 0, None, False)


def nps_columns(score: Any, customer_id: Any) -> tuple[Any, ...]:
    """The aggregates ``nps_of`` reads, in order: responses, promoters, passives, detractors,
    then the distinct customers behind each (for suppression)."""
    promoter = score >= PROMOTER_MIN
    passive = (score >= PASSIVE_MIN) & (score < PROMOTER_MIN)
    detractor = score < PASSIVE_MIN

    def customers(condition: Any) -> Any:
        return func.count(distinct(case((condition, customer_id))))

    return (
        func.count(score),
        count_where(promoter),
        count_where(passive),
        count_where(detractor),
        func.count(distinct(case((score.is_not(None), customer_id)))),
        customers(promoter),
        customers(passive),
        customers(detractor),
    )


def nps_of(values: Sequence[Any], suppress: Suppressor) -> Nps:
    """The NPS of one row of ``nps_columns``, hidden whole when any group is too small."""
    responses, promoters, passives, detractors, *groups = (int(v or 0) for v in values)
    if any(suppress.hides(customers) for customers in groups):
        return Nps(None, None, None, None, None, True)
    score = None if not responses else 100.0 * (promoters - detractors) / responses
    return Nps(responses, promoters, passives, detractors, score, False)
