"""The one eligibility predicate, as properties: what each rule admits, and that every rule
only ever narrows who qualifies."""

from __future__ import annotations

import uuid
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from models.customers.customer import LifecycleStage
from models.growth.tier import TierCode
from models.transactions.transaction import MerchantCategory
from resolvers.growth.eligibility import Eligibility, Profile, Spend, affinity, is_eligible

TIERS = [t.value for t in TierCode]
STAGES = [s.value for s in LifecycleStage]
CATEGORIES = [c.value for c in MerchantCategory]
SEGMENTS = ["dining", "travel", "big_ticket", "high_frequency", "shopping"]


def _subset(values: list[str]) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(values), max_size=len(values))


spends = st.builds(
    Spend,
    monetary_cents=st.integers(0, 10**9),
    by_category=st.dictionaries(st.sampled_from(CATEGORIES), st.integers(0, 10**8)),
)
profiles = st.builds(
    Profile,
    customer_id=st.just(uuid.UUID(int=1)),
    tier=st.sampled_from(TIERS),
    stage=st.sampled_from(STAGES),
    segments=_subset(SEGMENTS),
    spend=st.none() | spends,
)
rules = st.builds(
    Eligibility,
    tiers=_subset(TIERS),
    stages=_subset(STAGES),
    segments=_subset(SEGMENTS),
    spend_categories=_subset(CATEGORIES),
    min_spend_cents=st.integers(0, 10**7),
)


@given(profiles)
def test_an_offer_without_rules_is_for_everyone(profile: Profile) -> None:
    assert is_eligible(Eligibility(), profile)


@given(rules, profiles)
def test_an_eligible_customer_satisfies_every_listed_rule(rule: Eligibility, p: Profile) -> None:
    if is_eligible(rule, p):
        assert not rule.tiers or p.tier in rule.tiers
        assert not rule.stages or p.stage in rule.stages
        assert not rule.segments or rule.segments & p.segments
        if rule.has_spend_rule:
            assert p.spend is not None


@given(rules, profiles, st.integers(0, 10**7))
def test_raising_the_minimum_spend_never_admits_more(
    rule: Eligibility, profile: Profile, extra: int
) -> None:
    stricter = replace(rule, min_spend_cents=rule.min_spend_cents + extra)
    if is_eligible(stricter, profile):
        assert is_eligible(rule, profile)


def _narrower(listed: frozenset[str], universe: list[str], drop: str) -> frozenset[str]:
    """A list admitting no more than ``listed`` (empty admits everyone)."""
    if not listed:
        return frozenset(universe) - {drop}
    return (listed - {drop}) or listed


@given(rules, profiles, st.sampled_from(TIERS), st.sampled_from(SEGMENTS))
def test_narrowing_a_list_never_admits_more(
    rule: Eligibility, profile: Profile, tier: str, segment: str
) -> None:
    for stricter in (
        replace(rule, tiers=_narrower(rule.tiers, TIERS, tier)),
        replace(rule, segments=_narrower(rule.segments, SEGMENTS, segment)),
    ):
        if is_eligible(stricter, profile):
            assert is_eligible(rule, profile)


@given(rules.filter(lambda r: r.has_spend_rule), profiles)
def test_a_customer_never_evaluated_meets_no_spend_rule(rule: Eligibility, p: Profile) -> None:
    assert not is_eligible(rule, replace(p, spend=None))


def test_spend_categories_need_spend_in_them_and_the_minimum() -> None:
    spend = Spend(10_000, {"dining": 3_000, "travel": 7_000})
    customer = Profile(uuid.UUID(int=2), "gold", "active", frozenset(), spend)
    assert is_eligible(Eligibility(spend_categories=frozenset({"dining"})), customer)
    assert not is_eligible(Eligibility(spend_categories=frozenset({"fuel"})), customer)
    assert is_eligible(
        Eligibility(spend_categories=frozenset({"dining", "travel"}), min_spend_cents=10_000),
        customer,
    )
    assert not is_eligible(
        Eligibility(spend_categories=frozenset({"dining"}), min_spend_cents=3_001), customer
    )
    assert is_eligible(Eligibility(min_spend_cents=10_000), customer)  # the whole window
    assert not is_eligible(Eligibility(min_spend_cents=10_001), customer)


@given(st.none() | spends, _subset(CATEGORIES))
def test_affinity_is_a_share_between_0_and_1(
    spend: Spend | None, categories: frozenset[str]
) -> None:
    assert 0.0 <= affinity(spend, categories) <= 1.0


def test_affinity_is_the_share_of_window_spend_in_the_categories() -> None:
    spend = Spend(10_000, {"dining": 6_000, "travel": 3_000, "grocery": 1_000})
    assert affinity(spend, {"dining"}) == 0.6
    assert affinity(spend, {"dining", "travel"}) == 0.9
    assert affinity(spend, {"fuel"}) == 0.0
    assert affinity(None, {"dining"}) == 0.0
