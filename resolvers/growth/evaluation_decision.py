"""One customer's evaluation, set-based: the one aggregate query that reads every customer
with their figures as of an instant, and what the pure rules (``lifecycle_rules``,
``tier_rules``, and the risk domain's ``grade_rules`` through ``resolvers.risk.grade_evaluation``)
decide for each of its rows — the customer, metrics and history rows to write. Nothing here
touches the database; ``resolvers.growth.evaluation`` streams the query, reads each chunk's
account figures for the risk grade, and writes the decisions back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, case, func, select
from sqlalchemy.engine import Row

from models.cards.card import Card
from models.customers.customer import Customer
from models.transactions.transaction import MerchantCategory, Transaction, TransactionKind
from resolvers.growth.lifecycle_rules import (
    CATEGORY_SEGMENTS,
    Assessment,
    CustomerFigures,
    LifecycleRules,
    assess,
)
from resolvers.growth.tier_rules import ANNUAL_DAYS, TierDecision, TierRule, tier_decision
from resolvers.risk.grade_evaluation import (
    AccountFigures,
    CustomerRisk,
    GradeDecision,
    decide_grade,
)
from resolvers.risk.grade_rules import GradeRules

CUSTOMERS: Table = Customer.__table__  # type: ignore[attr-defined]
CARDS: Table = Card.__table__  # type: ignore[attr-defined]
TRANSACTIONS: Table = Transaction.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Decision:
    """What evaluation concluded for one customer: the rows to write."""

    customer_id: uuid.UUID
    metrics: dict[str, Any]
    # Set when the stage, segments or tier changed.
    update: dict[str, Any] | None = None
    lifecycle: dict[str, Any] | None = None
    tier: dict[str, Any] | None = None
    segments_changed: bool = False
    override_kept: bool = False
    # The risk grade (always in ``metrics``; its history row and alert when it changed).
    grade: GradeDecision | None = None


# -- the one aggregate query ---------------------------------------------------------------


def _spend(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, TRANSACTIONS.c.amount_cents), else_=0))


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.count(case((condition, 1)))


def aggregate_query(rules: LifecycleRules, as_of: datetime) -> Select[Any]:
    """Every customer with their figures as of ``as_of``; later transactions are ignored."""
    when = TRANSACTIONS.c.occurred_at
    in_window = when > as_of - timedelta(days=rules.window_days)
    recent_start = as_of - timedelta(days=rules.churn_compare_days)
    recent = when > recent_start
    prior = and_(
        when > recent_start - timedelta(days=rules.churn_compare_days), when <= recent_start
    )
    in_year = when > as_of - timedelta(days=ANNUAL_DAYS)
    categories = [
        _spend(and_(in_window, TRANSACTIONS.c.merchant_category == category)).label(
            f"spend_{category}"
        )
        for category in CATEGORY_SEGMENTS
    ]
    c = CUSTOMERS.c
    joined = CUSTOMERS.outerjoin(CARDS, CARDS.c.customer_id == c.id).outerjoin(
        TRANSACTIONS,
        and_(
            TRANSACTIONS.c.card_id == CARDS.c.id,
            when <= as_of,
            TRANSACTIONS.c.kind == TransactionKind.PURCHASE,  # spending only
        ),
    )
    return (
        select(
            c.id,
            c.created_at,
            c.lifecycle_stage,
            c.segments,
            c.tier_id,
            c.version,
            c.tier_override_until,
            c.branch_id,
            c.risk_grade,
            c.risk_grade_overridden,
            func.max(when).label("last_at"),
            _count(in_window).label("frequency"),
            _spend(in_window).label("monetary"),
            _spend(recent).label("recent_spend"),
            _spend(prior).label("prior_spend"),
            _count(recent).label("recent_count"),
            _count(prior).label("prior_count"),
            _spend(in_year).label("annual_spend"),
            _count(in_year).label("annual_count"),
            *categories,
        )
        .select_from(joined)
        .group_by(c.id)
    )


# -- the rules applied to one row ----------------------------------------------------------


def figures_of(row: Row[Any], as_of: datetime) -> CustomerFigures:
    """The figures the rules read; the per-category sums are the query's last columns."""
    monetary = int(row.monetary)
    spend = dict(zip(CATEGORY_SEGMENTS, row[-len(CATEGORY_SEGMENTS) :], strict=True))
    spend[MerchantCategory.OTHER.value] = monetary - sum(spend.values())
    return CustomerFigures(
        tenure_days=(as_of - row.created_at).days,
        recency_days=None if row.last_at is None else (as_of - row.last_at).days,
        frequency=int(row.frequency),
        monetary_cents=monetary,
        recent_spend_cents=int(row.recent_spend),
        prior_spend_cents=int(row.prior_spend),
        recent_transactions=int(row.recent_count),
        prior_transactions=int(row.prior_count),
        category_spend={category: int(cents) for category, cents in spend.items() if cents},
    )


def _metrics_row(
    row: Row[Any],
    figures: CustomerFigures,
    assessment: Assessment,
    grade: GradeDecision,
    as_of: datetime,
    window: int,
) -> dict[str, Any]:
    return {
        "customer_id": row.id,
        "evaluated_at": as_of,
        "window_days": window,
        "recency_days": figures.recency_days,
        "frequency": figures.frequency,
        "monetary_cents": figures.monetary_cents,
        "annual_spend_cents": int(row.annual_spend),
        "annual_transactions": int(row.annual_count),
        "churn_score": assessment.churn.score,
        "churn_reasons": list(assessment.churn.reasons),
        "category_spend": dict(figures.category_spend),
        "risk_grade": grade.assessment.grade.value,
        "risk_reasons": list(grade.assessment.reasons),
    }


def _lifecycle_row(
    row: Row[Any], figures: CustomerFigures, assessment: Assessment, as_of: datetime
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "customer_id": row.id,
        "from_stage": row.lifecycle_stage,
        "to_stage": assessment.stage.value,
        "reason": assessment.reason[:500],
        "recency_days": figures.recency_days,
        "frequency": figures.frequency,
        "monetary_cents": figures.monetary_cents,
        "churn_score": assessment.churn.score,
        "created_at": as_of,
    }


def _tier_row(row: Row[Any], move: TierDecision, as_of: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "customer_id": row.id,
        "from_tier_id": row.tier_id,
        "to_tier_id": move.tier.id,
        "change": move.change.value,
        "reason": move.reason[:500],
        "actor_id": None,
        "created_at": as_of,
    }


def _grade(
    row: Row[Any],
    figures: CustomerFigures,
    account: AccountFigures | None,
    grading: GradeRules,
    as_of: datetime,
    stamp: datetime,
) -> GradeDecision:
    customer = CustomerRisk(
        customer_id=row.id,
        branch_id=row.branch_id,
        grade=row.risk_grade,
        overridden=bool(row.risk_grade_overridden),
        recent_spend_cents=figures.recent_spend_cents,
        prior_spend_cents=figures.prior_spend_cents,
        window_spend_cents=figures.monetary_cents,
        category_spend=figures.category_spend,
    )
    return decide_grade(customer, account, rules=grading, as_of=as_of, stamp=stamp)


def decide(
    row: Row[Any],
    *,
    rules: LifecycleRules,
    ladder: Sequence[TierRule],
    as_of: datetime,
    stamp: datetime,
    grading: GradeRules = GradeRules(),
    account: AccountFigures | None = None,
) -> Decision:
    """Applies the rules to one customer's row; ``stamp`` marks the customer rows written.
    ``account`` is the customer's card and statement figures (None: no card)."""
    figures = figures_of(row, as_of)
    assessment = assess(figures, rules)
    grade = _grade(row, figures, account, grading, as_of, stamp)
    metrics = _metrics_row(row, figures, assessment, grade, as_of, rules.window_days)
    override_kept = row.tier_override_until is not None and row.tier_override_until > as_of
    move = (
        None
        if override_kept
        else tier_decision(ladder, row.tier_id, int(row.annual_spend), int(row.annual_count))
    )
    stage_changed = assessment.stage.value != row.lifecycle_stage
    segments_changed = list(assessment.segments) != list(row.segments or [])
    if not (stage_changed or segments_changed or move or grade.changed):
        return Decision(row.id, metrics, override_kept=override_kept, grade=grade)
    update = {
        "b_id": row.id,
        "b_version": row.version,
        "new_stage": assessment.stage.value,
        "new_segments": list(assessment.segments),
        "new_tier_id": move.tier.id if move else row.tier_id,
        "new_risk_grade": grade.grade,
        "new_version": row.version + 1,
        "stamp": stamp,
    }
    return Decision(
        row.id,
        metrics,
        update,
        lifecycle=_lifecycle_row(row, figures, assessment, as_of) if stage_changed else None,
        tier=_tier_row(row, move, as_of) if move else None,
        segments_changed=segments_changed,
        override_kept=override_kept,
        grade=grade,
    )
