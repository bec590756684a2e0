"""The benchmark's workloads (bench/workloads) run without errors against the test server,
each in a constant number of SQL statements: the guard against N+1 that the benchmark's
figures rely on."""

from __future__ import annotations

from typing import Any

from bench.workloads import document, w1_variables, w2_variables, w3_variables, w4_variables
from schema.relay import uuid_of
from tests.conftest import Server, customer_token, staff_token
from tests.support import World, add_customer
from tests.support_offers import accept_offer, add_merchant, add_offer, merchant_token

W1 = document("W1")
W2 = document("W2")
W4 = document("W4")

# The statement counts measured when these tests were written; a change must be deliberate.
# Tiers come from the process's catalogue (resolvers/growth/tier_catalogue.py), loaded by the first
# request and kept: each test makes one request first, so the catalogue is fresh.
W1_STATEMENTS = 2  # customers page, cards
# 8 since its SQL plan answers it (issue 17): the customer with tier and branch, cards,
# interactions, recommendations (live offers, profiles, assignments), the complaints, their
# timeline (with at least one open complaint; with no live offer, recommendations take one)
W2_STATEMENTS = 8
# 13, and NPS beside CSAT in analytics.service (issue 15); 13 again since growth reads its
# tier and stage breakdowns in one statement from the kept customer_counts (issue 17)
W4_STATEMENTS = 13


async def _run(
    server: Server, query: str, variables: dict[str, Any], token: str
) -> tuple[Any, int]:
    body, statements = await server.count_statements(query, variables, token=token)
    assert "errors" not in body, body
    return body, statements


async def test_w1_a_page_of_customers_costs_the_same_statements_for_5_and_50(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    # Warm: the process opens each customer's key once (one statement for a page's keys it
    # lacks, api.key_ring), as a running server holds them; customers other tests created
    # through other processes are not open here yet.
    await _run(server, W1, w1_variables(50), token)
    small, small_statements = await _run(server, W1, w1_variables(5), token)
    large, large_statements = await _run(server, W1, w1_variables(50), token)
    assert len(small["data"]["customers"]["edges"]) == 5
    assert len(large["data"]["customers"]["edges"]) > 5
    assert small_statements == large_statements == W1_STATEMENTS


async def test_w1_in_a_process_that_has_opened_no_customer_key_still_costs_2_statements(
    server: Server, world: World
) -> None:
    """The planned page (api.compiled.sql) reads each customer's wrapped key in its own
    statement, so a new process pays no third one for the keys it lacks."""
    token = staff_token(server, world, "demo-agent")
    warm, _ = await _run(server, W1, w1_variables(50), token)
    ids = [edge["node"]["id"] for edge in warm["data"]["customers"]["edges"]]
    keys = server.state.keys.ring.customer_keys
    for global_id in ids:
        keys.forget(uuid_of(global_id, "Customer"))

    cold, statements = await _run(server, W1, w1_variables(50), token)

    assert cold == warm
    assert statements == W1_STATEMENTS
    assert all(keys.has(uuid_of(global_id, "Customer")) for global_id in ids)


async def test_w1_shows_an_agent_masked_identifiers_and_pans(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-agent")
    body, _ = await _run(server, W1, w1_variables(50), token)
    for edge in body["data"]["customers"]["edges"]:
        node = edge["node"]
        for field in ("name", "phone", "idNumber"):
            assert "*" in node[field], (field, node)
        assert all(card["pan"].startswith("*") for card in node["cards"])


FILE_COMPLAINT = """
mutation File($input: FileComplaintInput!) { fileComplaint(input: $input) { userErrors { code } } }
"""


async def test_w2_a_customer_360_runs_in_constant_statements(server: Server, world: World) -> None:
    # given a live offer, so recommendations read profiles and assignments too
    await add_offer(server.state, await add_merchant(server.state, "W2 商户"))
    # and an open complaint in the agent's branch, so the timeline is loaded too
    filed = await server.graphql(
        FILE_COMPLAINT,
        {"input": {"description": "账单金额不对", "category": "BILLING_DISPUTE"}},
        token=customer_token(server, world.alice.id),
    )
    assert filed["data"]["fileComplaint"]["userErrors"] == [], filed
    token = staff_token(server, world, "demo-agent")
    page, _ = await _run(server, W1, w1_variables(50), token)
    # W1's plan joins the tiers in; W2 reads the catalogue, which its first request loads
    await _run(server, W2, w2_variables(page["data"]["customers"]["edges"][0]["node"]["id"]), token)
    counts = set()
    for edge in page["data"]["customers"]["edges"][:3]:
        body, statements = await _run(server, W2, w2_variables(edge["node"]["id"]), token)
        assert body["data"]["customer"]["id"] == edge["node"]["id"]
        counts.add(statements)
    assert counts == {W2_STATEMENTS}


async def test_w4_a_year_of_growth_and_service_analytics_runs_in_constant_statements(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-supervisor")
    body, statements = await _run(server, W4, w4_variables(), token)
    assert body["data"]["analytics"]["growth"]["customersByTier"]
    assert statements == W4_STATEMENTS


W3 = document("W3")
# A write: the same for every fresh code. Its outbox event is the 7th; on PostgreSQL the
# outbox's order lock (pg_advisory_xact_lock, auth/outbox.py) is one more.
W3_STATEMENTS = 7
W3_POSTGRESQL_LOCK = 1


async def test_w3_a_redemption_with_a_fresh_code_runs_in_constant_statements(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    token = merchant_token(server.state, merchant)
    offer = await add_offer(server.state, merchant, benefit_value=15)
    counts = []
    for index in range(3):
        customer = await add_customer(server.state, world)
        accepted = await accept_offer(server.state, offer, customer)
        variables = w3_variables(accepted.code, reference=f"W3-{index}")
        body, statements = await _run(server, W3, variables, token)
        assert body["data"]["redeemOffer"]["userErrors"] == [], body
        counts.append(statements)
    lock = 0 if server.state.database.is_sqlite else W3_POSTGRESQL_LOCK
    assert counts == [W3_STATEMENTS + lock] * 3
