"""The lifecycle rules, without a database: worked examples first, then properties that must
hold for any figures (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.settings import Settings
from models.customers.customer import LifecycleStage
from resolvers.growth.lifecycle_rules import (
    CATEGORY_SEGMENTS,
    SEGMENTS,
    CustomerFigures,
    LifecycleRules,
    assess,
    churn_risk,
    segments,
    yuan,
)

RULES = LifecycleRules()  # the defaults of core/settings.py, as the next test checks
S = LifecycleStage


def test_the_default_rules_are_the_settings_defaults() -> None:
    assert LifecycleRules.from_settings(Settings()) == RULES


def steady(**changes: object) -> CustomerFigures:
    """A long-standing customer spending the same, month after month."""
    figures = CustomerFigures(
        tenure_days=800,
        recency_days=3,
        frequency=12,
        monetary_cents=360_000,
        recent_spend_cents=360_000,
        prior_spend_cents=360_000,
        recent_transactions=12,
        prior_transactions=12,
        category_spend={"dining": 200_000, "shopping": 160_000},
    )
    return replace(figures, **changes)  # type: ignore[arg-type]


# -- worked examples -----------------------------------------------------------------------


def test_a_steady_customer_is_active_without_any_churn_risk() -> None:
    result = assess(steady(), RULES)

    assert result.stage is S.ACTIVE
    assert result.churn.score == 0
    assert result.churn.reasons == ()
    assert result.reason == "last transaction 3 days ago; 12 transactions, ¥3,600 in 90 days"
    assert result.segments == ("dining", "shopping")


def test_45_days_of_silence_alone_makes_a_customer_at_risk() -> None:
    result = assess(steady(recency_days=45), RULES)

    assert result.churn.score == 0.5  # 45 / 90 dormant days
    assert result.churn.reasons == ("no transaction in 45 days",)
    assert result.stage is S.AT_RISK
    assert result.reason == "churn risk 0.50: no transaction in 45 days"


def test_44_days_of_silence_is_not_yet_a_warning_sign() -> None:
    result = assess(steady(recency_days=44), RULES)

    assert result.churn.score == 0
    assert result.stage is S.ACTIVE


def test_a_60_percent_spend_drop_alone_makes_a_customer_at_risk() -> None:
    result = assess(steady(recent_spend_cents=144_000), RULES)

    assert result.churn.reasons == ("spend fell 60% over 90 days (¥3,600 → ¥1,440)",)
    assert result.churn.score == pytest.approx(0.6)
    assert result.stage is S.AT_RISK


def test_a_frequency_drop_alone_raises_the_risk_but_not_to_at_risk() -> None:
    result = assess(steady(recent_transactions=3), RULES)

    assert result.churn.reasons == ("frequency fell 75% over 90 days (12 → 3 transactions)",)
    assert result.churn.score == pytest.approx(0.375)  # half the 75% fall
    assert result.stage is S.ACTIVE


def test_warning_signs_combine_as_independent_chances() -> None:
    figures = steady(recency_days=60, recent_spend_cents=36_000, recent_transactions=2)
    result = churn_risk(figures, RULES)

    silence, spend, frequency = 60 / 90, 0.9, 0.5 * (10 / 12)
    assert result.score == round(1 - (1 - silence) * (1 - spend) * (1 - frequency), 3)
    assert result.reasons == (
        "no transaction in 60 days",
        "spend fell 90% over 90 days (¥3,600 → ¥360)",
        "frequency fell 83% over 90 days (12 → 2 transactions)",
    )


@pytest.mark.parametrize(
    ("recency", "stage", "reason"),
    [
        (89, S.AT_RISK, "churn risk 0.99: no transaction in 89 days"),
        (90, S.DORMANT, "no transaction in 90 days"),
        (179, S.DORMANT, "no transaction in 179 days"),
        (180, S.CHURNED, "no transaction in 180 days"),
        (900, S.CHURNED, "no transaction in 900 days"),
    ],
)
def test_silence_moves_a_customer_to_dormant_then_churned(
    recency: int, stage: LifecycleStage, reason: str
) -> None:
    result = assess(steady(recency_days=recency), RULES)

    assert (result.stage, result.reason) == (stage, reason)


def test_a_customer_who_never_transacted_is_new_then_a_prospect() -> None:
    never = CustomerFigures(tenure_days=10, recency_days=None)

    new = assess(never, RULES)
    prospect = assess(replace(never, tenure_days=200), RULES)

    assert (new.stage, new.reason) == (S.NEW, "joined 10 days ago, no transaction yet")
    assert (prospect.stage, prospect.reason) == (
        S.PROSPECT,
        "no transaction in the 200 days since joining",
    )
    assert new.churn.score == prospect.churn.score == 0
    assert new.segments == prospect.segments == ()


def test_a_new_customer_who_spends_stays_new_during_the_welcome_period() -> None:
    result = assess(steady(tenure_days=30, prior_spend_cents=0, prior_transactions=0), RULES)

    assert result.stage is S.NEW
    assert result.reason.startswith("joined 30 days ago; last transaction 3 days ago")


def test_a_new_customer_can_already_be_at_risk() -> None:
    result = assess(steady(tenure_days=80, recency_days=70), RULES)

    assert result.stage is S.AT_RISK


def test_loyal_needs_frequency_tenure_and_a_recent_transaction() -> None:
    loyal = steady(frequency=24, recent_transactions=24, prior_transactions=24)

    assert assess(loyal, RULES).stage is S.LOYAL
    assert assess(loyal, RULES).reason.endswith("; a customer for 800 days")
    assert assess(replace(loyal, frequency=23), RULES).stage is S.ACTIVE
    assert assess(replace(loyal, tenure_days=364), RULES).stage is S.ACTIVE
    assert assess(replace(loyal, recency_days=31), RULES).stage is S.ACTIVE


def test_segments_follow_frequency_ticket_size_and_category_share() -> None:
    figures = steady(
        frequency=30,
        monetary_cents=6_000_000,
        category_spend={"travel": 3_000_000, "electronics": 1_800_000, "dining": 1_200_000},
    )

    # 30 transactions; ¥2,000 average; travel 50%, electronics 30%, dining 20%
    assert segments(figures, RULES) == ("high_frequency", "big_ticket", "travel", "electronics")
    assert segments(replace(figures, frequency=29), RULES) == (
        "big_ticket",  # ¥2,068 average
        "travel",
        "electronics",
    )


def test_other_spend_never_makes_a_segment() -> None:
    figures = steady(monetary_cents=100_000, category_spend={"other": 100_000})

    assert segments(figures, RULES) == ()


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "¥0"), (150_000_00, "¥150,000"), (123_456, "¥1,234.56"), (-5_050, "-¥50.50")],
)
def test_amounts_read_as_yuan(cents: int, text: str) -> None:
    assert yuan(cents) == text


# -- properties ----------------------------------------------------------------------------

counts = st.integers(min_value=0, max_value=500)
cents = st.integers(min_value=0, max_value=10**9)


@st.composite
def figures_strategy(draw: st.DrawFn) -> CustomerFigures:
    """Any figures the query could produce: the category spends add up to the window's."""
    by_category = draw(st.dictionaries(st.sampled_from(CATEGORY_SEGMENTS), cents, max_size=7))
    return CustomerFigures(
        tenure_days=draw(st.integers(min_value=-10, max_value=5000)),
        recency_days=draw(st.none() | st.integers(min_value=0, max_value=2000)),
        frequency=draw(counts),
        monetary_cents=sum(by_category.values()) + draw(cents),
        recent_spend_cents=draw(cents),
        prior_spend_cents=draw(cents),
        recent_transactions=draw(counts),
        prior_transactions=draw(counts),
        category_spend=by_category,
    )


@given(figures_strategy())
def test_the_churn_score_stays_within_0_and_1_and_has_a_reason_when_positive(
    figures: CustomerFigures,
) -> None:
    risk = churn_risk(figures, RULES)

    assert 0 <= risk.score <= 1
    assert (risk.score > 0) == bool(risk.reasons)


@given(figures_strategy(), st.integers(min_value=0, max_value=2000))
def test_more_silence_never_lowers_the_churn_score(figures: CustomerFigures, more: int) -> None:
    if figures.recency_days is None:
        figures = replace(figures, recency_days=0)
    assert figures.recency_days is not None
    later = replace(figures, recency_days=figures.recency_days + more)

    assert churn_risk(later, RULES).score >= churn_risk(figures, RULES).score


@given(figures_strategy(), st.integers(min_value=0, max_value=10**9))
def test_more_recent_spend_never_raises_the_churn_score(
    figures: CustomerFigures, more: int
) -> None:
    richer = replace(figures, recent_spend_cents=figures.recent_spend_cents + more)

    assert churn_risk(richer, RULES).score <= churn_risk(figures, RULES).score


@given(figures_strategy(), st.integers(min_value=0, max_value=500))
def test_more_recent_transactions_never_raise_the_churn_score(
    figures: CustomerFigures, more: int
) -> None:
    busier = replace(figures, recent_transactions=figures.recent_transactions + more)

    assert churn_risk(busier, RULES).score <= churn_risk(figures, RULES).score


@given(figures_strategy())
def test_the_stage_follows_the_documented_precedence(figures: CustomerFigures) -> None:
    result = assess(figures, RULES)
    recency, is_new = figures.recency_days, figures.tenure_days < RULES.new_days

    if recency is None:
        assert result.stage is (S.NEW if is_new else S.PROSPECT)
    elif recency >= RULES.churned_days:
        assert result.stage is S.CHURNED
    elif recency >= RULES.dormant_days:
        assert result.stage is S.DORMANT
    elif result.churn.score >= RULES.at_risk_score:
        assert result.stage is S.AT_RISK
    elif is_new:
        assert result.stage is S.NEW
    else:
        assert result.stage in (S.LOYAL, S.ACTIVE)
    assert result.reason


@given(figures_strategy())
def test_segments_are_known_ordered_and_category_shares_add_up(figures: CustomerFigures) -> None:
    found = segments(figures, RULES)

    assert list(found) == [segment for segment in SEGMENTS if segment in found]
    categories = [segment for segment in found if segment in CATEGORY_SEGMENTS]
    assert len(categories) <= int(1 / RULES.category_share)
    for category in categories:
        assert figures.category_spend[category] >= RULES.category_share * figures.monetary_cents
