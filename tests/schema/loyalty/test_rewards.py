"""The rewards catalogue and ``redeemReward`` over HTTP.

Given marketers managing the catalogue and customers with points, when they act, then:
marketers and admins create, update (with the version) and retire rewards, other roles are
refused; staff list every reward, customers only what they may redeem now; a customer's
redemption spends the price exactly once per idempotency key, is refused with
INSUFFICIENT_POINTS or OUT_OF_STOCK when short, and under N concurrent requests exactly one
of them wins the last item (or the only affordable one).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from models.audit.audit import AuditEntry
from models.loyalty.ledger import PointsEntry, PointsKind
from resolvers.loyalty.redemption import REDEEM_ACTION, REFUSED_ACTION
from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF, World, add_customer
from tests.support_offers import add_merchant, merchant_token

CREATE = """
mutation($input: CreateRewardInput!) {
  createReward(input: $input) {
    reward { id name pointsPrice stock status version }
    userErrors { field code }
  }
}
"""
UPDATE = """
mutation($input: UpdateRewardInput!) {
  updateReward(input: $input) { reward { id stock pointsPrice version } userErrors { field code } }
}
"""
RETIRE = """
mutation($input: RetireRewardInput!) {
  retireReward(input: $input) { reward { id status version } userErrors { field code } }
}
"""
REDEEM = """
mutation($input: RedeemRewardInput!) {
  redeemReward(input: $input) {
    redemption { id points reward { id stock } }
    balance
    userErrors { field code }
  }
}
"""
LIST = """
query($first: Int, $filter: RewardFilter) {
  rewards(first: $first, filter: $filter) { totalCount edges { node { id name status stock } } }
}
"""
BALANCE = "{ me { points { balance } } }"


def _terms(**extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "name": f"星巴克中杯 {uuid.uuid4().hex[:6]}",
        "pointsPrice": 100,
        "stock": 10,
        "startsAt": (now - timedelta(days=1)).isoformat(),
        "endsAt": (now + timedelta(days=30)).isoformat(),
        **extra,
    }


def _staff(server: Server, world: World, role: str) -> str:
    return staff_token(server, world, DEMO_STAFF[role])


async def _create(server: Server, world: World, **terms: Any) -> dict[str, Any]:
    body = await server.graphql(
        CREATE, {"input": _terms(**terms)}, token=_staff(server, world, "marketer")
    )
    payload = body["data"]["createReward"]
    assert payload["userErrors"] == [], payload
    return dict(payload["reward"])


async def _customer_with(server: Server, world: World, points: int) -> uuid.UUID:
    customer_id = await add_customer(server.state, world, active=True)
    async with server.state.database.session() as session:
        session.add(
            PointsEntry(
                customer_id=customer_id,
                kind=PointsKind.ADJUST.value,
                points=points,
                occurred_at=datetime.now(UTC),
                natural_key=f"test-adjust:{uuid.uuid4()}",
            )
        )
        await session.commit()
    return customer_id


async def _redeem(server: Server, customer_id: uuid.UUID, reward_id: str, key: str) -> Any:
    variables = {"input": {"rewardId": reward_id, "idempotencyKey": key}}
    body = await server.graphql(REDEEM, variables, token=customer_token(server, customer_id))
    assert "errors" not in body, body
    return body["data"]["redeemReward"]


# The catalogue, per role ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["marketer", "admin"])
async def test_marketers_and_admins_create_update_and_retire_rewards(
    server: Server, world: World, role: str
) -> None:
    token = _staff(server, world, role)
    created = await server.graphql(CREATE, {"input": _terms()}, token=token)
    reward = created["data"]["createReward"]["reward"]
    assert (reward["status"], reward["version"], reward["stock"]) == ("ACTIVE", 1, 10)

    change = {"rewardId": reward["id"], "version": 1, "stock": 3, "pointsPrice": 250}
    updated = (await server.graphql(UPDATE, {"input": change}, token=token))["data"]
    assert updated["updateReward"]["reward"] == {
        "id": reward["id"],
        "stock": 3,
        "pointsPrice": 250,
        "version": 2,
    }
    stale = (await server.graphql(UPDATE, {"input": change}, token=token))["data"]
    assert stale["updateReward"]["userErrors"] == [{"field": "version", "code": "CONFLICT"}]

    retire = {"rewardId": reward["id"], "version": 2}
    retired = (await server.graphql(RETIRE, {"input": retire}, token=token))["data"]
    assert retired["retireReward"]["reward"]["status"] == "RETIRED"
    again = {**change, "version": 3}
    after = (await server.graphql(UPDATE, {"input": again}, token=token))["data"]
    assert after["updateReward"]["userErrors"] == [{"field": "rewardId", "code": "CONFLICT"}]


@pytest.mark.parametrize("role", ["supervisor", "agent", "risk_officer", "auditor"])
async def test_other_staff_may_not_manage_the_catalogue(
    server: Server, world: World, role: str
) -> None:
    body = await server.graphql(CREATE, {"input": _terms()}, token=_staff(server, world, role))
    assert body["data"]["createReward"] == {
        "reward": None,
        "userErrors": [{"field": None, "code": "FORBIDDEN"}],
    }


async def test_customers_and_merchants_may_not_manage_the_catalogue(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state, "奖品商户")
    for token in (
        customer_token(server, world.alice.id),
        merchant_token(server.state, merchant),
    ):
        body = await server.graphql(CREATE, {"input": _terms()}, token=token)
        assert body["data"]["createReward"]["userErrors"][0]["code"] == "FORBIDDEN"


async def test_bad_terms_are_refused_with_the_field(server: Server, world: World) -> None:
    token = _staff(server, world, "marketer")
    for terms, field in (
        ({"pointsPrice": 0}, "pointsPrice"),
        ({"stock": -1}, "stock"),
        ({"name": "  "}, "name"),
        ({"endsAt": "2020-01-01T00:00:00+00:00"}, "endsAt"),
    ):
        body = await server.graphql(CREATE, {"input": _terms(**terms)}, token=token)
        assert body["data"]["createReward"]["userErrors"] == [
            {"field": field, "code": "BAD_USER_INPUT"}
        ]


async def test_staff_list_every_reward_customers_only_what_they_may_redeem_now(
    server: Server, world: World
) -> None:
    active = await _create(server, world)
    empty = await _create(server, world, stock=0)
    draft = await _create(server, world, status="DRAFT")
    later = await _create(
        server, world, startsAt=(datetime.now(UTC) + timedelta(days=2)).isoformat()
    )
    ids = {active["id"], empty["id"], draft["id"], later["id"]}

    for role in ("marketer", "agent", "auditor", "admin"):
        body = await server.graphql(LIST, {"first": 100}, token=_staff(server, world, role))
        seen = {e["node"]["id"] for e in body["data"]["rewards"]["edges"]}
        assert ids <= seen, role
    drafts = await server.graphql(
        LIST, {"first": 100, "filter": {"status": "DRAFT"}}, token=_staff(server, world, "admin")
    )
    assert {e["node"]["status"] for e in drafts["data"]["rewards"]["edges"]} == {"DRAFT"}

    mine = await server.graphql(LIST, {"first": 100}, token=customer_token(server, world.alice.id))
    seen = {e["node"]["id"] for e in mine["data"]["rewards"]["edges"]}
    assert active["id"] in seen
    assert not seen & {empty["id"], draft["id"], later["id"]}


async def test_merchants_and_risk_officers_cannot_list_rewards(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state, "看奖品商户")
    for token in (merchant_token(server.state, merchant), _staff(server, world, "risk_officer")):
        body = await server.graphql(LIST, {"first": 5}, token=token)
        assert body["data"]["rewards"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


# Redeeming -------------------------------------------------------------------------------------


async def test_a_redemption_spends_once_per_key_and_is_audited(
    server: Server, world: World
) -> None:
    reward = await _create(server, world, pointsPrice=300, stock=5)
    customer_id = await _customer_with(server, world, 1000)

    first = await _redeem(server, customer_id, reward["id"], "app-1")
    retry = await _redeem(server, customer_id, reward["id"], "app-1")
    second = await _redeem(server, customer_id, reward["id"], "app-2")

    assert first["userErrors"] == []
    assert (first["balance"], first["redemption"]["points"]) == (700, 300)
    assert first["redemption"]["reward"]["stock"] == 4
    assert retry["redemption"]["id"] == first["redemption"]["id"]
    assert retry["balance"] == 700
    assert second["balance"] == 400
    assert second["redemption"]["reward"]["stock"] == 3
    me = await server.graphql(BALANCE, token=customer_token(server, customer_id))
    assert me["data"]["me"]["points"]["balance"] == 400
    async with server.state.database.session() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(
                    col(AuditEntry.actor_id) == str(customer_id),
                    col(AuditEntry.action) == REDEEM_ACTION,
                )
            )
        )
    assert actions == [REDEEM_ACTION, REDEEM_ACTION]


async def test_a_short_balance_is_refused_and_spends_nothing(server: Server, world: World) -> None:
    reward = await _create(server, world, pointsPrice=500, stock=5)
    customer_id = await _customer_with(server, world, 499)
    refused = await _redeem(server, customer_id, reward["id"], "k")
    assert refused == {
        "redemption": None,
        "balance": None,
        "userErrors": [{"field": "rewardId", "code": "INSUFFICIENT_POINTS"}],
    }
    me = await server.graphql(BALANCE, token=customer_token(server, customer_id))
    assert me["data"]["me"]["points"]["balance"] == 499
    async with server.state.database.session() as session:
        refusals = list(
            await session.scalars(
                select(AuditEntry.details).where(
                    col(AuditEntry.actor_id) == str(customer_id),
                    col(AuditEntry.action) == REFUSED_ACTION,
                )
            )
        )
    assert [details["code"] for details in refusals] == ["INSUFFICIENT_POINTS"]


async def test_an_empty_stock_is_refused(server: Server, world: World) -> None:
    reward = await _create(server, world, pointsPrice=10, stock=0)
    customer_id = await _customer_with(server, world, 100)
    refused = await _redeem(server, customer_id, reward["id"], "k")
    assert refused["userErrors"] == [{"field": "rewardId", "code": "OUT_OF_STOCK"}]


async def test_a_retired_or_unknown_reward_is_not_found(server: Server, world: World) -> None:
    reward = await _create(server, world, pointsPrice=10)
    token = _staff(server, world, "marketer")
    await server.graphql(RETIRE, {"input": {"rewardId": reward["id"], "version": 1}}, token=token)
    customer_id = await _customer_with(server, world, 100)
    refused = await _redeem(server, customer_id, reward["id"], "k")
    assert refused["userErrors"] == [{"field": "rewardId", "code": "NOT_FOUND"}]


async def test_staff_cannot_redeem(server: Server, world: World) -> None:
    reward = await _create(server, world, pointsPrice=10)
    variables = {"input": {"rewardId": reward["id"], "idempotencyKey": "k"}}
    for role in ("admin", "agent", "marketer"):
        body = await server.graphql(REDEEM, variables, token=_staff(server, world, role))
        assert body["data"]["redeemReward"]["userErrors"][0]["code"] == "FORBIDDEN", role


# Concurrency ------------------------------------------------------------------------------------

N = 8


async def test_n_customers_racing_for_the_last_item_one_wins(server: Server, world: World) -> None:
    reward = await _create(server, world, pointsPrice=50, stock=1)
    customers = [await _customer_with(server, world, 100) for _ in range(N)]
    answers = await asyncio.gather(
        *(_redeem(server, customer_id, reward["id"], "race") for customer_id in customers)
    )
    won = [a for a in answers if a["redemption"] is not None]
    codes = sorted(a["userErrors"][0]["code"] for a in answers if a["redemption"] is None)
    assert len(won) == 1
    assert codes == ["OUT_OF_STOCK"] * (N - 1)
    assert won[0]["redemption"]["reward"]["stock"] == 0


async def test_n_redemptions_of_a_balance_enough_for_one_one_wins(
    server: Server, world: World
) -> None:
    reward = await _create(server, world, pointsPrice=60, stock=100)
    customer_id = await _customer_with(server, world, 100)
    answers = await asyncio.gather(
        *(_redeem(server, customer_id, reward["id"], f"tap-{i}") for i in range(N))
    )
    won = [a for a in answers if a["redemption"] is not None]
    codes = sorted(a["userErrors"][0]["code"] for a in answers if a["redemption"] is None)
    assert len(won) == 1
    assert codes == ["INSUFFICIENT_POINTS"] * (N - 1)
    me = await server.graphql(BALANCE, token=customer_token(server, customer_id))
    assert me["data"]["me"]["points"]["balance"] == 40


async def test_n_retries_of_one_key_make_one_redemption(server: Server, world: World) -> None:
    reward = await _create(server, world, pointsPrice=10, stock=100)
    customer_id = await _customer_with(server, world, 100)
    answers = await asyncio.gather(
        *(_redeem(server, customer_id, reward["id"], "same") for _ in range(N))
    )
    assert len({a["redemption"]["id"] for a in answers}) == 1
    me = await server.graphql(BALANCE, token=customer_token(server, customer_id))
    assert me["data"]["me"]["points"]["balance"] == 90
