"""The risk grade rules (信用评分): a customer's behaviour figures in; a grade A–E with the
reasons behind it out.

Pure functions over ``RiskFigures`` (what evaluation's aggregates compute per customer, see
``resolvers.risk.grade_evaluation``) and ``GradeRules`` (the thresholds, all from
``core.settings``), so each rule can be read, tested and changed here without a database.

Each warning sign adds points once it crosses its threshold, and each one counted is a reason
(``RiskGradeReason``), so the reasons always explain the whole grade:

- ``HIGH_UTILISATION``: booked balance / credit limits of the open cards at least
  ``risk_utilisation_high`` (1 point), at or over ``risk_utilisation_over`` (2);
- ``OVERDUE_NOW``: the worst card's days past due: 1 or more (2 points, C at best), at least
  ``risk_overdue_d_days`` (3, D at best), at least ``risk_overdue_e_days`` (4, E);
- ``OVERDUE_HISTORY``: statements not paid by their due date in the last 365 days, at least
  ``risk_missed_statements`` (1 point), at least ``risk_missed_statements_severe`` (2);
- ``LOW_REPAYMENT_RATIO``: repayments over ``risk_repayment_window_days`` below
  ``risk_low_repayment_ratio`` of the balances of the statements due in that window (1);
- ``SPENDING_SPIKE``: spend of the last ``churn_compare_days`` at least ``risk_spike_ratio``
  times the period before (which had spend) and at least ``risk_spike_min_cents`` (1);
- ``CASH_LIKE_SPENDING``: the window's spend in ``risk_cash_like_categories`` at least
  ``risk_cash_like_share`` of it and at least ``risk_cash_like_min_cents`` (1).

Points give the grade: 0 A, 1 B, 2 C, 3 D, 4 or more E. No sign at all is ``CLEAN_RECORD``.
A customer without any statement yet has no record to judge: C at best, with ``NO_HISTORY``
among the reasons (C is a new customer's grade, so evaluation leaves new customers alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.settings import Settings
from models.customers.customer import RiskGrade
from models.risk.grade import RiskGradeReason

GRADES = (RiskGrade.A, RiskGrade.B, RiskGrade.C, RiskGrade.D, RiskGrade.E)
# The grades whose arrival by a worsening raises a GRADE_WORSENED alert.
ALERT_GRADES = frozenset({RiskGrade.D, RiskGrade.E})
NEW_CUSTOMER_GRADE = RiskGrade.C
R = RiskGradeReason


@dataclass(frozen=True)
class RiskFigures:
    """One customer's behaviour as of the evaluation instant (amounts in cents)."""

    # Booked balance of all their cards, and the credit limits of the open ones.
    balance_cents: int = 0
    credit_limit_cents: int = 0
    # The worst card's days past due now.
    days_past_due: int = 0
    # Statements closed so far, and those not paid by their due date in the last 365 days.
    statements: int = 0
    missed_statements: int = 0
    # Balances of the statements due in the repayment window, and repayments in it.
    billed_cents: int = 0
    repaid_cents: int = 0
    # Spend of the last churn_compare_days and of the same length before them.
    recent_spend_cents: int = 0
    prior_spend_cents: int = 0
    # The evaluation window's spend, in total and per merchant category.
    window_spend_cents: int = 0
    category_spend: Mapping[str, int] = field(default_factory=dict)

    @property
    def utilisation(self) -> float | None:
        """Balance / limits; None without a limit (nothing to use)."""
        if self.credit_limit_cents <= 0:
            return None
        return max(0, self.balance_cents) / self.credit_limit_cents

    @property
    def repayment_ratio(self) -> float | None:
        """Repaid / billed; None when nothing was due in the window."""
        if self.billed_cents <= 0:
            return None
        return self.repaid_cents / self.billed_cents


@dataclass(frozen=True)
class GradeRules:
    utilisation_high: float = 0.8
    utilisation_over: float = 1.0
    overdue_d_days: int = 31
    overdue_e_days: int = 91
    missed_statements: int = 1
    missed_statements_severe: int = 3
    repayment_window_days: int = 90
    low_repayment_ratio: float = 0.3
    spike_ratio: float = 3.0
    spike_min_cents: int = 500_000
    cash_like_categories: frozenset[str] = frozenset({"other"})
    cash_like_share: float = 0.5
    cash_like_min_cents: int = 100_000

    @classmethod
    def from_settings(cls, settings: Settings) -> GradeRules:
        return cls(
            utilisation_high=settings.risk_utilisation_high,
            utilisation_over=settings.risk_utilisation_over,
            overdue_d_days=settings.risk_overdue_d_days,
            overdue_e_days=settings.risk_overdue_e_days,
            missed_statements=settings.risk_missed_statements,
            missed_statements_severe=settings.risk_missed_statements_severe,
            repayment_window_days=settings.risk_repayment_window_days,
            low_repayment_ratio=settings.risk_low_repayment_ratio,
            spike_ratio=settings.risk_spike_ratio,
            spike_min_cents=settings.risk_spike_min_cents,
            cash_like_categories=frozenset(settings.risk_cash_like_categories),
            cash_like_share=settings.risk_cash_like_share,
            cash_like_min_cents=settings.risk_cash_like_min_cents,
        )


@dataclass(frozen=True)
class RiskAssessment:
    grade: RiskGrade
    points: int
    # RiskGradeReason values, in the enum's order.
    reasons: tuple[str, ...]


def _utilisation(figures: RiskFigures, rules: GradeRules) -> int:
    used = figures.utilisation
    if used is None:
        return 0
    if used >= rules.utilisation_over:
        return 2
    return 1 if used >= rules.utilisation_high else 0


def _overdue_now(figures: RiskFigures, rules: GradeRules) -> int:
    days = figures.days_past_due
    if days >= rules.overdue_e_days:
        return 4
    if days >= rules.overdue_d_days:
        return 3
    return 2 if days >= 1 else 0


def _overdue_history(figures: RiskFigures, rules: GradeRules) -> int:
    missed = figures.missed_statements
    if missed >= rules.missed_statements_severe:
        return 2
    return 1 if missed >= rules.missed_statements else 0


def _low_repayment(figures: RiskFigures, rules: GradeRules) -> int:
    ratio = figures.repayment_ratio
    return 1 if ratio is not None and ratio < rules.low_repayment_ratio else 0


def _spike(figures: RiskFigures, rules: GradeRules) -> int:
    recent, prior = figures.recent_spend_cents, figures.prior_spend_cents
    if prior <= 0 or recent < rules.spike_min_cents:
        return 0
    return 1 if recent >= rules.spike_ratio * prior else 0


def _cash_like(figures: RiskFigures, rules: GradeRules) -> int:
    total = figures.window_spend_cents
    cash = sum(figures.category_spend.get(c, 0) for c in rules.cash_like_categories)
    if total <= 0 or cash < rules.cash_like_min_cents:
        return 0
    return 1 if cash >= rules.cash_like_share * total else 0


SIGNS = (
    (R.HIGH_UTILISATION, _utilisation),
    (R.OVERDUE_NOW, _overdue_now),
    (R.OVERDUE_HISTORY, _overdue_history),
    (R.LOW_REPAYMENT_RATIO, _low_repayment),
    (R.SPENDING_SPIKE, _spike),
    (R.CASH_LIKE_SPENDING, _cash_like),
)


def grade_of(points: int) -> RiskGrade:
    return GRADES[min(max(points, 0), len(GRADES) - 1)]


def assess_risk(figures: RiskFigures, rules: GradeRules) -> RiskAssessment:
    """The grade and its reasons, by this module's docstring."""
    counted = [(reason, points) for reason, sign in SIGNS if (points := sign(figures, rules))]
    points = sum(weight for _, weight in counted)
    reasons = [reason.value for reason, _ in counted]
    if figures.statements == 0:
        reasons.append(R.NO_HISTORY.value)
        points = max(points, GRADES.index(NEW_CUSTOMER_GRADE))
    elif not reasons:
        reasons.append(R.CLEAN_RECORD.value)
    return RiskAssessment(grade_of(points), points, tuple(reasons))


def is_worse(new: str, old: str | None) -> bool:
    """Whether ``new`` is a worse grade than ``old`` (None: no grade before)."""
    return old is None or GRADES.index(RiskGrade(new)) > GRADES.index(RiskGrade(old))


def raises_alert(new: str, old: str | None) -> bool:
    """A grade that worsens to D or E raises a GRADE_WORSENED alert."""
    return RiskGrade(new) in ALERT_GRADES and is_worse(new, old)
