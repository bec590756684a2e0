"""Staff read a customer's consent history through ``Customer.consentHistory``: the agents
and supervisors of the customer's branch, auditors and admins; a page of customers with
their histories costs the same statements whatever its size (one DataLoader query)."""

from __future__ import annotations

import pytest

from schema.relay import to_global_id
from tests.conftest import Server, staff_token
from tests.schema.privacy.consent_support import UPDATE_CUSTOMER, create_customer, raw_id
from tests.support import World

HISTORY = """
query History($id: ID!) {
  customer(id: $id) { id consentHistory { channel granted source changedAt } }
}
"""
PAGE = """
query Page($first: Int!) {
  customers(first: $first) { edges { node { id consentHistory(first: 5) { channel source } } } }
}
"""


@pytest.mark.parametrize(
    "username", ["demo-agent", "demo-supervisor", "demo-auditor", "demo-admin"]
)
async def test_staff_who_serve_the_customer_read_the_history_newest_first(
    server: Server, world: World, username: str
) -> None:
    agent = staff_token(server, world, "demo-agent")
    global_id, version = await create_customer(server, agent, {"sms": True})
    await server.graphql(
        UPDATE_CUSTOMER,
        {"input": {"id": global_id, "version": version, "consent": {"email": True}}},
        token=agent,
    )

    body = await server.graphql(
        HISTORY, {"id": global_id}, token=staff_token(server, world, username)
    )

    assert "errors" not in body, body
    history = [
        (h["channel"], h["granted"], h["source"])
        for h in body["data"]["customer"]["consentHistory"]
    ]
    assert sorted(history[:2]) == [("EMAIL", True, "STAFF"), ("SMS", False, "STAFF")]
    assert history[2:] == [("SMS", True, "ONBOARDING")]


async def test_an_agent_of_another_branch_does_not_reach_the_customer(
    server: Server, world: World
) -> None:
    global_id, _ = await create_customer(
        server, staff_token(server, world, "demo-agent"), {"push": True}
    )

    body = await server.graphql(
        HISTORY, {"id": global_id}, token=staff_token(server, world, "demo-agent-b")
    )

    assert body["data"]["customer"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]


@pytest.mark.parametrize("username", ["demo-marketer", "demo-risk"])
async def test_marketers_and_risk_officers_are_denied_the_history(
    server: Server, world: World, username: str
) -> None:
    body = await server.graphql(
        HISTORY,
        {"id": to_global_id("Customer", world.alice.id)},
        token=staff_token(server, world, username),
    )

    assert body["data"]["customer"]["consentHistory"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert body["errors"][0]["path"] == ["customer", "consentHistory"]


async def test_a_page_of_customers_with_their_history_costs_the_same_statements_at_any_size(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    for consent in ({"sms": True}, {"email": True, "push": True}):
        await create_customer(server, staff_token(server, world, "demo-agent"), consent)
    await server.graphql(PAGE, {"first": 2}, token=token)  # warm-up: caches, key checks

    counts = []
    for size in (2, 10, 30):
        body, statements = await server.count_statements(PAGE, {"first": size}, token=token)
        assert "errors" not in body, body
        edges = body["data"]["customers"]["edges"]
        assert len(edges) == size
        assert edges[0]["node"]["consentHistory"], "the newest customer has a history"
        counts.append(statements)

    assert counts[0] == counts[1] == counts[2], counts
    assert raw_id(edges[0]["node"]["id"])  # a Customer id
