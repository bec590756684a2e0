"""The risk grade in ``cardcrm evaluate``: the account figures of a chunk of customers in one
set-based query, the grade each customer gets, and the history and alert rows it writes.

``resolvers.growth.evaluation`` streams its one aggregate (which already holds each
customer's spend per period and category) and, per chunk, calls ``read_accounts`` once: one
statement over the chunk's cards, with correlated subqueries per card (booked balance,
statements closed, statements missed in the last 365 days, balances due and repayments in
the repayment window), grouped by customer. ``decide_grade`` applies the pure rules
(``grade_rules``) to one customer; ``write_grades`` inserts the chunk's history rows and
GRADE_WORSENED alerts in two bulk statements (the alerts ``ON CONFLICT DO NOTHING`` on their
natural key: one per customer and evaluation date).

The grade always goes to ``customer_metrics`` (``risk_grade``, ``risk_reasons``); the
customer's own grade changes only when it differs and no risk officer's override holds it.
``credit_score`` is left as it is: it is the bureau-style score the customer came with, not
something evaluation computes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, case, func, select
from sqlalchemy import insert as sql_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.cards.card import Card, CardStatus
from models.cards.statement import Statement
from models.columns import new_id
from models.risk.alert import AlertRule, AlertSeverity, AlertStatus, RiskAlert
from models.risk.grade import RiskGradeChange, RiskGradeSource
from models.transactions.transaction import Transaction, TransactionKind
from resolvers.risk.grade_rules import (
    GradeRules,
    RiskAssessment,
    RiskFigures,
    assess_risk,
    raises_alert,
)

CARDS: Table = Card.__table__  # type: ignore[attr-defined]
STATEMENTS: Table = Statement.__table__  # type: ignore[attr-defined]
TRANSACTIONS: Table = Transaction.__table__  # type: ignore[attr-defined]
HISTORY: Table = RiskGradeChange.__table__  # type: ignore[attr-defined]
ALERTS: Table = RiskAlert.__table__  # type: ignore[attr-defined]
EVALUATION_ACTOR = "evaluation"
HISTORY_DAYS = 365
# Cards whose limit counts towards utilisation (a blocked card's limit went to its replacement).
OPEN_CARDS = (CardStatus.ISSUED, CardStatus.ACTIVATED, CardStatus.FROZEN)


@dataclass(frozen=True)
class AccountFigures:
    """A customer's cards and statements as of the evaluation instant (cents)."""

    balance_cents: int = 0
    credit_limit_cents: int = 0
    days_past_due: int = 0
    statements: int = 0
    missed_statements: int = 0
    billed_cents: int = 0
    repaid_cents: int = 0


NO_ACCOUNT = AccountFigures()


# -- the chunk's account figures -----------------------------------------------------------


def _per_card(as_of: datetime, rules: GradeRules) -> Any:
    t, s, c = TRANSACTIONS.c, STATEMENTS.c, CARDS.c
    window_start = as_of - timedelta(days=rules.repayment_window_days)
    signed = case(
        (t.kind == TransactionKind.PURCHASE, t.amount_cents),
        (t.kind.in_([TransactionKind.REFUND, TransactionKind.REPAYMENT]), -t.amount_cents),
        else_=0,
    )
    balance = select(func.coalesce(func.sum(signed), 0)).where(
        t.card_id == c.id, t.occurred_at <= as_of
    )
    closed = select(func.count()).where(s.card_id == c.id, s.closes_at <= as_of)
    missed = select(func.count()).where(
        s.card_id == c.id,
        s.paid_by_due.is_(False),
        s.due_ends_at > as_of - timedelta(days=HISTORY_DAYS),
        s.due_ends_at <= as_of,
    )
    billed = select(func.coalesce(func.sum(s.balance_cents), 0)).where(
        s.card_id == c.id, s.balance_cents > 0, s.due_ends_at > window_start, s.due_ends_at <= as_of
    )
    repaid = select(func.coalesce(func.sum(t.amount_cents), 0)).where(
        t.card_id == c.id,
        t.kind == TransactionKind.REPAYMENT,
        t.occurred_at > window_start,
        t.occurred_at <= as_of,
    )
    return select(
        c.customer_id,
        case((c.status.in_(OPEN_CARDS), c.credit_limit_cents), else_=0).label("credit_limit"),
        c.days_past_due,
        balance.scalar_subquery().label("balance"),
        closed.scalar_subquery().label("closed"),
        missed.scalar_subquery().label("missed"),
        billed.scalar_subquery().label("billed"),
        repaid.scalar_subquery().label("repaid"),
    )


def accounts_query(ids: Sequence[uuid.UUID], as_of: datetime, rules: GradeRules) -> Any:
    """The account figures of these customers' cards, one row per customer with a card."""
    cards = _per_card(as_of, rules).where(CARDS.c.customer_id.in_(ids)).subquery()
    k = cards.c
    return select(
        k.customer_id,
        func.sum(k.balance).label("balance"),
        func.sum(k.credit_limit).label("credit_limit"),
        func.max(k.days_past_due).label("days_past_due"),
        func.sum(k.closed).label("closed"),
        func.sum(k.missed).label("missed"),
        func.sum(k.billed).label("billed"),
        func.sum(k.repaid).label("repaid"),
    ).group_by(k.customer_id)


async def read_accounts(
    session: AsyncSession, ids: Sequence[uuid.UUID], as_of: datetime, rules: GradeRules
) -> dict[uuid.UUID, AccountFigures]:
    """One statement for the whole chunk; customers without a card are absent."""
    if not ids:
        return {}
    rows = await session.execute(accounts_query(ids, as_of, rules))
    return {
        row.customer_id: AccountFigures(
            balance_cents=int(row.balance or 0),
            credit_limit_cents=int(row.credit_limit or 0),
            days_past_due=int(row.days_past_due or 0),
            statements=int(row.closed or 0),
            missed_statements=int(row.missed or 0),
            billed_cents=int(row.billed or 0),
            repaid_cents=int(row.repaid or 0),
        )
        for row in rows
    }


# -- one customer's grade ------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerRisk:
    """What the grade reads of one customer beside the account figures."""

    customer_id: uuid.UUID
    branch_id: uuid.UUID
    grade: str
    overridden: bool
    recent_spend_cents: int
    prior_spend_cents: int
    window_spend_cents: int
    category_spend: Mapping[str, int]


@dataclass(frozen=True)
class GradeDecision:
    assessment: RiskAssessment
    # The customer's grade after this evaluation (their own while an override holds).
    grade: str
    changed: bool = False
    override_kept: bool = False
    history: dict[str, Any] | None = None
    alert: dict[str, Any] | None = None


def figures_for(customer: CustomerRisk, account: AccountFigures) -> RiskFigures:
    return RiskFigures(
        balance_cents=account.balance_cents,
        credit_limit_cents=account.credit_limit_cents,
        days_past_due=account.days_past_due,
        statements=account.statements,
        missed_statements=account.missed_statements,
        billed_cents=account.billed_cents,
        repaid_cents=account.repaid_cents,
        recent_spend_cents=customer.recent_spend_cents,
        prior_spend_cents=customer.prior_spend_cents,
        window_spend_cents=customer.window_spend_cents,
        category_spend=customer.category_spend,
    )


def alert_key(customer_id: uuid.UUID, as_of: datetime) -> str:
    """One grade alert per customer and evaluation date."""
    return f"{AlertRule.GRADE_WORSENED.value}:{customer_id}:{as_of.date().isoformat()}"


def alert_row(
    *,
    customer_id: uuid.UUID,
    branch_id: uuid.UUID,
    from_grade: str | None,
    to_grade: str,
    reasons: Sequence[str],
    as_of: datetime,
    stamp: datetime,
) -> dict[str, Any]:
    """A GRADE_WORSENED alert: MEDIUM for D, HIGH for E."""
    return {
        "id": new_id(),
        "rule": AlertRule.GRADE_WORSENED.value,
        "severity": (AlertSeverity.HIGH if to_grade == "E" else AlertSeverity.MEDIUM).value,
        "status": AlertStatus.OPEN.value,
        "customer_id": customer_id,
        "branch_id": branch_id,
        "card_id": None,
        "transaction_id": None,
        "amount_cents": None,
        "occurred_at": as_of,
        "details": {"from": from_grade, "to": to_grade, "reasons": list(reasons)},
        "natural_key": alert_key(customer_id, as_of),
        "created_at": stamp,
        "updated_at": stamp,
        "version": 1,
    }


def decide_grade(
    customer: CustomerRisk,
    account: AccountFigures | None,
    *,
    rules: GradeRules,
    as_of: datetime,
    stamp: datetime,
) -> GradeDecision:
    """The grade the figures give, and the rows its change writes (none while an override
    holds the customer's grade, or when it did not change)."""
    assessment = assess_risk(figures_for(customer, account or NO_ACCOUNT), rules)
    computed = assessment.grade.value
    if customer.overridden or computed == customer.grade:
        return GradeDecision(assessment, customer.grade, override_kept=customer.overridden)
    history = {
        "id": new_id(),
        "customer_id": customer.customer_id,
        "from_grade": customer.grade,
        "to_grade": computed,
        "source": RiskGradeSource.EVALUATION.value,
        "reasons": list(assessment.reasons),
        "note_enc": None,
        "actor_kind": "system",
        "actor_id": EVALUATION_ACTOR,
        "created_at": as_of,
    }
    alert = (
        alert_row(
            customer_id=customer.customer_id,
            branch_id=customer.branch_id,
            from_grade=customer.grade,
            to_grade=computed,
            reasons=assessment.reasons,
            as_of=as_of,
            stamp=stamp,
        )
        if raises_alert(computed, customer.grade)
        else None
    )
    return GradeDecision(assessment, computed, changed=True, history=history, alert=alert)


# -- writing a chunk's rows ----------------------------------------------------------------


async def write_grades(
    session: AsyncSession, histories: list[dict[str, Any]], alerts: list[dict[str, Any]]
) -> int:
    """The history rows of the customers updated and their alerts, in two bulk statements;
    how many alerts were new (a re-run the same day raises none twice)."""
    if histories:
        await session.execute(sql_insert(HISTORY), histories)
    return await raise_alerts(session, alerts)


async def raise_alerts(session: AsyncSession, alerts: list[dict[str, Any]]) -> int:
    """Inserts GRADE_WORSENED alerts, none twice for a customer and date (ON CONFLICT DO
    NOTHING on the natural key); how many were new."""
    if not alerts:
        return 0
    dialect = session.get_bind().dialect.name
    statement = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(ALERTS)
    await session.execute(
        statement.on_conflict_do_nothing(index_elements=[ALERTS.c.natural_key]), alerts
    )
    # The rows written carry this run's new ids; a conflicting one kept the older row.
    ids = [alert["id"] for alert in alerts]
    written = await session.scalar(select(func.count()).where(ALERTS.c.id.in_(ids)))
    return int(written or 0)
