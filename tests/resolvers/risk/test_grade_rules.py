"""The risk grade rules, without a database: each warning sign at its boundary, the points
giving the grade, then properties that must hold for any figures (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.settings import Settings
from models.customers.customer import RiskGrade
from resolvers.risk.grade_rules import (
    GradeRules,
    RiskFigures,
    assess_risk,
    is_worse,
    raises_alert,
)

RULES = GradeRules()  # the defaults of core/settings.py, as the next test checks


def test_the_default_rules_are_the_settings_defaults() -> None:
    assert GradeRules.from_settings(Settings()) == RULES


def clean(**changes: object) -> RiskFigures:
    """A customer with a record and no warning sign: ¥2,000 of ¥10,000 used, bills repaid in
    full, steady dining spend."""
    figures = RiskFigures(
        balance_cents=200_000,
        credit_limit_cents=1_000_000,
        statements=6,
        billed_cents=300_000,
        repaid_cents=300_000,
        recent_spend_cents=300_000,
        prior_spend_cents=300_000,
        window_spend_cents=300_000,
        category_spend={"dining": 300_000},
    )
    return replace(figures, **changes)  # type: ignore[arg-type]


def graded(figures: RiskFigures) -> tuple[str, tuple[str, ...]]:
    assessment = assess_risk(figures, RULES)
    return assessment.grade.value, assessment.reasons


def test_no_warning_sign_is_a_clean_record_and_grade_a() -> None:
    assert graded(clean()) == ("A", ("clean_record",))


def test_without_a_statement_a_customer_is_c_at_best() -> None:
    assert graded(clean(statements=0)) == ("C", ("no_history",))
    # a sign adds to the points but the grade stays C until they pass 2
    assert graded(clean(statements=0, balance_cents=800_000)) == (
        "C",
        ("high_utilisation", "no_history"),
    )
    assert graded(clean(statements=0, balance_cents=1_000_000, days_past_due=0)) == (
        "C",
        ("high_utilisation", "no_history"),
    )


@pytest.mark.parametrize(
    ("balance", "expected"),
    [
        (799_999, ("A", ("clean_record",))),  # 79.99% of ¥10,000
        (800_000, ("B", ("high_utilisation",))),  # 80%: 1 point
        (999_999, ("B", ("high_utilisation",))),
        (1_000_000, ("C", ("high_utilisation",))),  # at the limit: 2 points
        (-50_000, ("A", ("clean_record",))),  # a credit balance uses nothing
    ],
)
def test_utilisation_counts_from_80_percent_and_doubles_at_the_limit(
    balance: int, expected: tuple[str, tuple[str, ...]]
) -> None:
    assert graded(clean(balance_cents=balance)) == expected


def test_utilisation_needs_a_limit() -> None:
    assert clean(credit_limit_cents=0).utilisation is None
    assert graded(clean(credit_limit_cents=0, balance_cents=900_000)) == ("A", ("clean_record",))


@pytest.mark.parametrize(
    ("days", "grade"),
    [(0, "A"), (1, "C"), (30, "C"), (31, "D"), (90, "D"), (91, "E"), (400, "E")],
)
def test_overdue_now_gives_c_then_d_from_31_days_then_e_from_91(days: int, grade: str) -> None:
    reasons = ("overdue_now",) if days else ("clean_record",)
    assert graded(clean(days_past_due=days)) == (grade, reasons)


@pytest.mark.parametrize(("missed", "grade"), [(0, "A"), (1, "B"), (2, "B"), (3, "C"), (9, "C")])
def test_missed_statements_count_one_point_then_two_from_three(missed: int, grade: str) -> None:
    reasons = ("overdue_history",) if missed else ("clean_record",)
    assert graded(clean(missed_statements=missed)) == (grade, reasons)


@pytest.mark.parametrize(
    ("repaid", "grade"),
    [(90_000, "A"), (89_999, "B"), (0, "B")],  # 30% of ¥3,000 billed is ¥900
)
def test_a_repayment_ratio_below_30_percent_counts(repaid: int, grade: str) -> None:
    reasons = ("low_repayment_ratio",) if grade == "B" else ("clean_record",)
    assert graded(clean(repaid_cents=repaid)) == (grade, reasons)


def test_nothing_billed_is_no_repayment_ratio() -> None:
    assert clean(billed_cents=0, repaid_cents=0).repayment_ratio is None
    assert graded(clean(billed_cents=0, repaid_cents=0)) == ("A", ("clean_record",))


@pytest.mark.parametrize(
    ("recent", "prior", "grade"),
    [
        (900_000, 300_000, "B"),  # three times, ¥9,000 ≥ ¥5,000
        (899_999, 300_000, "A"),  # just under three times
        (450_000, 150_000, "A"),  # three times, but under ¥5,000
        (2_000_000, 0, "A"),  # nothing before to compare with
    ],
)
def test_a_spending_spike_is_three_times_the_period_before_and_at_least_5000_yuan(
    recent: int, prior: int, grade: str
) -> None:
    reasons = ("spending_spike",) if grade == "B" else ("clean_record",)
    assert graded(clean(recent_spend_cents=recent, prior_spend_cents=prior)) == (grade, reasons)


@pytest.mark.parametrize(
    ("other", "dining", "grade"),
    [
        (150_000, 150_000, "B"),  # half of ¥3,000 in OTHER
        (149_999, 150_001, "A"),  # just under half
        (99_999, 0, "A"),  # all of it, but under ¥1,000
        (100_000, 0, "B"),
    ],
)
def test_cash_like_spending_is_half_the_spend_in_other_and_at_least_1000_yuan(
    other: int, dining: int, grade: str
) -> None:
    figures = clean(
        window_spend_cents=other + dining,
        category_spend={"other": other, "dining": dining},
    )
    reasons = ("cash_like_spending",) if grade == "B" else ("clean_record",)
    assert graded(figures) == (grade, reasons)


def test_the_cash_like_categories_come_from_the_settings() -> None:
    rules = GradeRules.from_settings(Settings(risk_cash_like_categories=["other", "travel"]))
    figures = clean(window_spend_cents=300_000, category_spend={"travel": 300_000})
    assert assess_risk(figures, rules).reasons == ("cash_like_spending",)
    assert graded(figures) == ("A", ("clean_record",))


def test_signs_add_up_to_d_and_e_with_every_reason_listed_in_order() -> None:
    # utilisation at the limit (2) + one missed statement (1) = 3 → D
    assert graded(clean(balance_cents=1_000_000, missed_statements=1)) == (
        "D",
        ("high_utilisation", "overdue_history"),
    )
    # + a low repayment ratio (1) = 4 → E
    worst = clean(balance_cents=1_000_000, missed_statements=1, repaid_cents=0)
    assert graded(worst) == ("E", ("high_utilisation", "overdue_history", "low_repayment_ratio"))
    assert assess_risk(worst, RULES).points == 4


@pytest.mark.parametrize(
    ("new", "old", "worse", "alert"),
    [
        ("D", "C", True, True),
        ("E", "D", True, True),
        ("E", "A", True, True),
        ("B", None, True, False),
        ("C", "C", False, False),
        ("A", "E", False, False),
        ("D", "E", False, False),  # better, though still D
        ("D", "D", False, False),
        ("C", "A", True, False),  # worse, but not to D or E
    ],
)
def test_worsening_and_alerts(new: str, old: str | None, worse: bool, alert: bool) -> None:
    assert is_worse(new, old) is worse
    assert raises_alert(new, old) is alert


amounts = st.integers(min_value=-1_000_000, max_value=10_000_000)
counts = st.integers(min_value=0, max_value=400)
figures = st.builds(
    RiskFigures,
    balance_cents=amounts,
    credit_limit_cents=st.integers(min_value=0, max_value=5_000_000),
    days_past_due=counts,
    statements=st.integers(min_value=0, max_value=24),
    missed_statements=st.integers(min_value=0, max_value=12),
    billed_cents=amounts,
    repaid_cents=st.integers(min_value=0, max_value=10_000_000),
    recent_spend_cents=st.integers(min_value=0, max_value=10_000_000),
    prior_spend_cents=st.integers(min_value=0, max_value=10_000_000),
    window_spend_cents=st.integers(min_value=0, max_value=10_000_000),
    category_spend=st.dictionaries(
        st.sampled_from(["other", "dining", "travel"]), st.integers(0, 10_000_000)
    ),
)


@given(figures)
def test_every_grade_is_explained_by_its_reasons(figures: RiskFigures) -> None:
    assessment = assess_risk(figures, RULES)
    assert assessment.grade in RiskGrade
    assert assessment.reasons  # never a grade without a reason
    signs = [r for r in assessment.reasons if r not in ("clean_record", "no_history")]
    if figures.statements == 0:
        assert "no_history" in assessment.reasons
        assert assessment.grade >= RiskGrade.C  # C at best
    elif not signs:
        assert assessment.reasons == ("clean_record",)
        assert assessment.grade is RiskGrade.A
    else:
        assert assessment.grade > RiskGrade.A


@given(figures, st.integers(min_value=1, max_value=200))
def test_being_more_overdue_never_improves_the_grade(figures: RiskFigures, more: int) -> None:
    later = replace(figures, days_past_due=figures.days_past_due + more)
    assert assess_risk(later, RULES).grade >= assess_risk(figures, RULES).grade
