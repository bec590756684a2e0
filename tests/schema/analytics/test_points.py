"""``analytics.growth.points`` over HTTP: points earned, reversed, redeemed, expired and
outstanding in a range, and rewards redeemed per reward.

Given a range (March 2019) that only this test's ledger entries fall in, admins read the
exact figures, a branch's supervisor their branch's, and marketers see figures made by fewer
than the minimum group of customers as null.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from models.loyalty.ledger import PointsEntry, PointsKind
from models.loyalty.reward import Reward, RewardRedemption
from tests.conftest import Server, staff_token
from tests.support import DEMO_STAFF, World, add_customer

QUERY = """
query($range: DateRangeInput!) {
  analytics { growth(range: $range) {
    points { earned reversed redeemed expired outstanding
             rewards { name redemptions points } }
  } }
}
"""
RANGE = {"from": "2019-03-01T00:00:00Z", "to": "2019-04-01T00:00:00Z"}
IN_RANGE = datetime(2019, 3, 10, tzinfo=UTC)
BEFORE = datetime(2019, 2, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
async def ledger(server: Server, world: World) -> str:
    """Two customers of branch A: earned 100 and 50 in range (and 30 before), one reversed
    10, one redeemed a reward for 40, one had 5 expire."""
    first = await add_customer(server.state, world, active=True)
    second = await add_customer(server.state, world, active=True)
    name = f"电影票 {uuid.uuid4().hex[:6]}"
    async with server.state.database.session() as session:
        reward = Reward(
            name=name,
            points_price=40,
            stock=5,
            starts_at=BEFORE,
            ends_at=datetime(2030, 1, 1, tzinfo=UTC),
        )
        session.add(reward)
        await session.flush()
        redemption = RewardRedemption(
            reward_id=reward.id,
            customer_id=first,
            points=40,
            idempotency_key="k",
            created_at=IN_RANGE,
        )
        session.add(redemption)
        await session.flush()

        def entry(customer: uuid.UUID, kind: PointsKind, points: int, at: datetime) -> PointsEntry:
            return PointsEntry(
                customer_id=customer,
                kind=kind.value,
                points=points,
                occurred_at=at,
                natural_key=f"test:{uuid.uuid4()}",
            )

        session.add_all(
            [
                entry(first, PointsKind.EARN, 30, BEFORE),
                entry(first, PointsKind.EARN, 100, IN_RANGE),
                entry(second, PointsKind.EARN, 50, IN_RANGE),
                entry(second, PointsKind.REVERSE, -10, IN_RANGE),
                entry(first, PointsKind.REDEEM, -40, IN_RANGE),
                entry(second, PointsKind.EXPIRE, -5, IN_RANGE),
            ]
        )
        await session.commit()
    return name


async def _points(server: Server, world: World, role: str) -> dict[str, object]:
    token = staff_token(server, world, DEMO_STAFF[role])
    body = await server.graphql(QUERY, {"range": RANGE}, token=token)
    assert "errors" not in body, body
    return dict(body["data"]["analytics"]["growth"]["points"])


@pytest.mark.parametrize("role", ["admin", "supervisor", "auditor"])
async def test_staff_read_exact_points_figures_of_the_range(
    server: Server, world: World, ledger: str, role: str
) -> None:
    points = await _points(server, world, role)
    assert (points["earned"], points["reversed"], points["redeemed"], points["expired"]) == (
        150,
        10,
        40,
        5,
    )
    # 30 + 100 + 50 − 10 − 40 − 5 held at the end of March.
    assert points["outstanding"] == 125
    assert points["rewards"] == [{"name": ledger, "redemptions": 1, "points": 40}]


async def test_marketers_see_figures_of_few_customers_suppressed(
    server: Server, world: World, ledger: str
) -> None:
    points = await _points(server, world, "marketer")
    assert (points["earned"], points["outstanding"]) == (None, None)
    assert points["rewards"] == [{"name": ledger, "redemptions": None, "points": None}]


async def test_merchants_have_no_analytics(server: Server, ledger: str) -> None:
    from tests.support_offers import add_merchant, merchant_token

    merchant = await add_merchant(server.state, "分析商户")
    body = await server.graphql(
        QUERY, {"range": RANGE}, token=merchant_token(server.state, merchant)
    )
    assert body["data"]["analytics"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
