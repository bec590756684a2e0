"""Earning and reversing points from imported transactions (resolvers/loyalty/earning.py).

Given fresh customers of chosen tiers, when purchases and refunds are imported (with the
batch effects, as the CLI and the mutation do), then each CNY purchase earns yuan × 1 point ×
its tier's multiplier × its category's (dining 2x, travel 1.5x by default) × the best
points-multiplier offer the customer accepted, rounded down; a re-import posts nothing; a
refund reverses by the same rule, never more than its card still holds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.growth.offer import BenefitType
from models.loyalty.ledger import PointsKind
from tests.conftest import Server
from tests.resolvers.loyalty.support import (
    import_lines,
    kinds_and_points,
    ledger,
    line,
    new_holder,
)
from tests.support import World
from tests.support_offers import accept_offer, add_assignment, add_merchant, add_offer

EARN = PointsKind.EARN.value


async def test_points_follow_the_tier_and_category_multipliers_rounded_down(
    server: Server, world: World
) -> None:
    standard = await new_holder(server.state, world)
    gold = await new_holder(server.state, world, tier="gold")
    diamond = await new_holder(server.state, world, tier="diamond")
    await import_lines(
        server.state,
        line(standard, "88.00"),  # 88 × 1 × 1
        line(standard, "88.00", category="dining", reference="d"),  # 88 × 2
        line(standard, "0.99", reference="small"),  # 0.99 yuan: 0 points, no entry
        line(gold, "100.50"),  # 100.5 × 1.5 = 150.75 → 150
        line(gold, "100.50", category="dining", reference="d"),  # × 1.5 × 2 = 301.5 → 301
        line(diamond, "10.00", category="travel"),  # 10 × 3 × 1.5 = 45
    )
    assert sorted(p for _, p in await kinds_and_points(server.state, standard.customer_id)) == [
        88,
        176,
    ]
    assert sorted(p for _, p in await kinds_and_points(server.state, gold.customer_id)) == [
        150,
        301,
    ]
    assert await kinds_and_points(server.state, diamond.customer_id) == [(EARN, 45)]


async def test_only_cny_purchases_earn(server: Server, world: World) -> None:
    holder = await new_holder(server.state, world)
    await import_lines(
        server.state,
        line(holder, "100.00", currency="USD"),
        line(holder, "100.00", kind="repayment"),
        line(holder, "7.00"),
    )
    assert await kinds_and_points(server.state, holder.customer_id) == [(EARN, 7)]


async def test_an_earn_entry_links_its_transaction_and_expires_after_the_second_next_year(
    server: Server, world: World
) -> None:
    holder = await new_holder(server.state, world)
    await import_lines(
        server.state,
        line(holder, "10.00", time="2025-12-31T23:30:00+08:00"),  # 2025 in Beijing
        line(holder, "10.00", time="2026-01-01T00:30:00+08:00"),  # 2026 in Beijing
    )
    entries = await ledger(server.state, holder.customer_id)
    assert [entry.transaction_id is not None for entry in entries] == [True, True]
    assert [entry.card_id for entry in entries] == [holder.card_id, holder.card_id]
    # The end of 2027 and of 2028, Beijing time: the first instants after, in UTC.
    assert [entry.expires_at for entry in entries] == [
        datetime(2027, 12, 31, 16, tzinfo=UTC),
        datetime(2028, 12, 31, 16, tzinfo=UTC),
    ]
    assert all(entry.natural_key.startswith("earn:") for entry in entries)


async def test_a_reimport_posts_nothing_twice(server: Server, world: World) -> None:
    holder = await new_holder(server.state, world)
    rows = (line(holder, "20.00"), line(holder, "30.00", category="dining", reference="x"))
    first = await import_lines(server.state, *rows)
    again = await import_lines(server.state, *rows)
    assert (first.imported, again.imported, again.duplicates) == (2, 0, 2)
    assert sorted(await kinds_and_points(server.state, holder.customer_id)) == [
        (EARN, 20),
        (EARN, 60),
    ]


async def test_an_accepted_points_multiplier_offer_multiplies_the_best_one_only(
    server: Server, world: World
) -> None:
    holder = await new_holder(server.state, world)
    other = await new_holder(server.state, world)
    merchant = await add_merchant(server.state, "积分商户")
    triple = await add_offer(
        server.state, merchant, benefit_type=BenefitType.POINTS_MULTIPLIER, benefit_value=3
    )
    double = await add_offer(
        server.state, merchant, benefit_type=BenefitType.POINTS_MULTIPLIER, benefit_value=2
    )
    only_targeted = await add_offer(
        server.state, merchant, benefit_type=BenefitType.POINTS_MULTIPLIER, benefit_value=10
    )
    big_spend = await add_offer(
        server.state,
        merchant,
        benefit_type=BenefitType.POINTS_MULTIPLIER,
        benefit_value=5,
        min_spend_cents=1_000_000,
    )
    await accept_offer(server.state, triple, holder.customer_id)
    await accept_offer(server.state, double, holder.customer_id)
    await accept_offer(server.state, big_spend, holder.customer_id)
    await add_assignment(server.state, only_targeted, holder.customer_id)
    await add_assignment(server.state, only_targeted, other.customer_id)
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    earlier = (datetime.now(UTC) - timedelta(days=3)).isoformat()  # before the offers began
    await import_lines(
        server.state,
        line(holder, "100.00", time=when),  # × 3
        line(holder, "100.00", time=earlier),  # no offer yet: × 1
        line(other, "100.00", time=when),  # targeted is not accepted: × 1
    )
    assert sorted(p for _, p in await kinds_and_points(server.state, holder.customer_id)) == [
        100,
        300,
    ]
    assert await kinds_and_points(server.state, other.customer_id) == [(EARN, 100)]


async def test_a_refund_reverses_by_the_same_rule_never_below_what_the_card_earned(
    server: Server, world: World
) -> None:
    holder = await new_holder(server.state, world)
    await import_lines(server.state, line(holder, "100.00"))
    await import_lines(
        server.state,
        line(holder, "30.00", kind="refund", time="2026-05-03T09:00:00+08:00"),  # −30
        line(holder, "200.00", kind="refund", time="2026-05-04T09:00:00+08:00"),  # −70 left
        line(holder, "5.00", kind="refund", time="2026-05-05T09:00:00+08:00"),  # nothing left
    )
    entries = await kinds_and_points(server.state, holder.customer_id)
    assert entries == [(EARN, 100), ("reverse", -30), ("reverse", -70)]
    assert sum(points for _, points in entries) == 0


async def test_a_refund_in_the_same_batch_as_its_purchase_reverses_it(
    server: Server, world: World
) -> None:
    holder = await new_holder(server.state, world)
    await import_lines(
        server.state,
        line(holder, "50.00", category="dining"),  # 100
        line(holder, "20.00", category="dining", kind="refund", time="2026-05-03T09:00:00+08:00"),
    )
    assert await kinds_and_points(server.state, holder.customer_id) == [
        (EARN, 100),
        ("reverse", -40),
    ]
