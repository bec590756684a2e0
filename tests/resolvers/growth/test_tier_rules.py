"""Tier qualification and progress on the demo ladder, without a database."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.demo.seed import TIERS
from models.growth.tier import TierChange
from resolvers.growth.tier_rules import TierRule, qualify, tier_decision, tier_progress

# standard 0/0, silver ¥50,000/24, gold ¥150,000/60, platinum ¥500,000/120, diamond ¥1.5M/200
LADDER = [
    TierRule(uuid.uuid4(), code, rank, spend * 100, count)
    for code, _, rank, spend, count, _, _ in TIERS
]
BY_CODE = {rule.code: rule for rule in LADDER}
YUAN = 100


def test_the_highest_tier_whose_both_thresholds_are_met_is_the_one() -> None:
    assert qualify(LADDER, 0, 0).code == "standard"
    assert qualify(LADDER, 150_000 * YUAN, 60).code == "gold"
    assert qualify(LADDER, 150_000 * YUAN, 59).code == "silver"  # one transaction short
    assert qualify(LADDER, 149_999 * YUAN, 500).code == "silver"  # one yuan short
    assert qualify(LADDER, 10**12, 10**6).code == "diamond"


def test_qualification_does_not_depend_on_the_ladders_order() -> None:
    assert qualify(list(reversed(LADDER)), 600_000 * YUAN, 130).code == "platinum"


def test_an_upgrade_says_what_qualified_the_customer() -> None:
    decision = tier_decision(LADDER, BY_CODE["standard"].id, 160_000 * YUAN, 64)

    assert decision is not None
    assert (decision.tier.code, decision.change) == ("gold", TierChange.UPGRADE)
    assert decision.reason == "annual spend ¥160,000 over 64 transactions qualifies for gold"


def test_a_downgrade_says_what_the_old_tier_needs() -> None:
    decision = tier_decision(LADDER, BY_CODE["platinum"].id, 60_000 * YUAN + 50, 30)

    assert decision is not None
    assert (decision.tier.code, decision.change) == ("silver", TierChange.DOWNGRADE)
    assert decision.reason == (
        "annual spend ¥60,000.50 over 30 transactions qualifies for silver only; "
        "platinum needs ¥500,000 and 120 transactions"
    )


def test_no_decision_when_the_tier_is_already_right() -> None:
    assert tier_decision(LADDER, BY_CODE["gold"].id, 150_000 * YUAN, 60) is None


def test_progress_names_the_next_tier_and_what_is_missing() -> None:
    progress = tier_progress(LADDER, BY_CODE["standard"].id, 30_000 * YUAN, 10)

    assert progress.next is not None
    assert progress.next.code == "silver"
    assert progress.spend_needed_cents == 20_000 * YUAN
    assert progress.transactions_needed == 14
    assert progress.percent == 41.6  # 10 of 24 transactions; spend is further along (60%)


def test_progress_counts_from_the_tier_held_not_the_one_qualified_for() -> None:
    # an overridden platinum customer who spends like a silver one
    progress = tier_progress(LADDER, BY_CODE["platinum"].id, 60_000 * YUAN, 30)

    assert progress.current.code == "platinum"
    assert progress.next is not None
    assert progress.next.code == "diamond"


def test_at_the_top_tier_there_is_nothing_left_to_reach() -> None:
    progress = tier_progress(LADDER, BY_CODE["diamond"].id, 0, 0)

    assert progress.next is None
    assert (progress.spend_needed_cents, progress.transactions_needed) == (0, 0)
    assert progress.percent == 100


def test_an_empty_ladder_is_an_error_that_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="seed the tiers"):
        qualify([], 0, 0)


spend = st.integers(min_value=0, max_value=3_000_000 * YUAN)
count = st.integers(min_value=0, max_value=400)


@given(spend, count)
def test_the_qualified_tier_is_met_and_no_higher_tier_is(cents: int, transactions: int) -> None:
    tier = qualify(LADDER, cents, transactions)

    assert tier.admits(cents, transactions)
    assert not any(rule.admits(cents, transactions) for rule in LADDER if rule.rank > tier.rank)


@given(spend, count, spend, count)
def test_spending_more_never_lowers_the_tier(
    cents: int, transactions: int, more_cents: int, more_transactions: int
) -> None:
    before = qualify(LADDER, cents, transactions)
    after = qualify(LADDER, cents + more_cents, transactions + more_transactions)

    assert after.rank >= before.rank


@given(st.sampled_from(LADDER), spend, count)
def test_progress_is_a_percentage_that_reaches_100_only_when_nothing_is_missing(
    held: TierRule, cents: int, transactions: int
) -> None:
    progress = tier_progress(LADDER, held.id, cents, transactions)

    assert 0 <= progress.percent <= 100
    missing = progress.spend_needed_cents > 0 or progress.transactions_needed > 0
    assert (progress.percent < 100) == missing
    if progress.next is not None:
        assert (not missing) == progress.next.admits(cents, transactions)


@given(st.sampled_from(LADDER), spend, count)
def test_a_decision_moves_to_the_qualified_tier_in_the_right_direction(
    held: TierRule, cents: int, transactions: int
) -> None:
    decision = tier_decision(LADDER, held.id, cents, transactions)
    target = qualify(LADDER, cents, transactions)

    if target.id == held.id:
        assert decision is None
        return
    assert decision is not None
    assert decision.tier == target
    expected = TierChange.UPGRADE if target.rank > held.rank else TierChange.DOWNGRADE
    assert decision.change is expected
    assert f"qualifies for {target.code}" in decision.reason
