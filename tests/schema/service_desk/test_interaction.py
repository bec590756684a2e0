"""Interactions over HTTP: contact rules, notes visible to their author, batched pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.identity import Role
from resolvers.customers.input import Consent
from schema.relay import to_global_id
from tests.conftest import Server, staff_token
from tests.support import World, add_customer, add_staff

LOG = """
mutation Log($input: LogInteractionInput!) {
  logInteraction(input: $input) {
    interaction { id channel kind subject notes satisfaction staff { role } }
    userErrors { field code message }
  }
}
"""
NOTES = """
query Notes($id: ID!) { customer(id: $id) { interactions(first: 50) { totalCount
  edges { node { id subject notes } } } } }
"""


def _input(customer_id: object, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "customerId": to_global_id("Customer", customer_id),
        "channel": "PHONE",
        "direction": "OUTBOUND",
        "kind": "FOLLOW_UP",
        "subject": "回访",
        "notes": "客户满意",
    }
    data.update(overrides)
    return {"input": data}


async def _log(server: Server, token: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await server.graphql(LOG, variables, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["logInteraction"]
    return payload


async def test_an_agent_logs_a_follow_up_and_reads_their_own_notes(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    payload = await _log(
        server, token, _input(world.alice.id, notes="客户确认收到退款", satisfaction=5)
    )
    assert payload["userErrors"] == []
    assert payload["interaction"]["notes"] == "客户确认收到退款"
    assert payload["interaction"]["staff"]["role"] == "AGENT"


async def test_notes_are_clear_to_their_author_and_supervisors_masked_to_others(
    server: Server, world: World
) -> None:
    author = staff_token(server, world, "demo-agent")
    logged = (await _log(server, author, _input(world.alice.id, subject="关怀", notes="私密备注")))[
        "interaction"
    ]
    colleague = await add_staff(server.state, world, role="agent", branch="BJ-CY")
    colleague_token = server.state.tokens.issue(
        subject=str(colleague.id),
        role=Role.AGENT,
        client_id="t",  # type: ignore[arg-type]
        branch_id=colleague.branch_id,
    )
    expected = {
        author: "私密备注",
        staff_token(server, world, "demo-supervisor"): "私密备注",
        colleague_token: "******",
        staff_token(server, world, "demo-admin"): "******",
        staff_token(server, world, "demo-auditor"): "******",
    }
    for token, notes in expected.items():
        body = await server.graphql(
            NOTES, {"id": to_global_id("Customer", world.alice.id)}, token=token
        )
        edges = body["data"]["customer"]["interactions"]["edges"]
        (node,) = [e["node"] for e in edges if e["node"]["id"] == logged["id"]]
        assert node["notes"] == notes


async def test_marketers_never_read_interactions(server: Server, world: World) -> None:
    body = await server.graphql(
        NOTES,
        {"id": to_global_id("Customer", world.alice.id)},
        token=staff_token(server, world, "demo-marketer"),
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_marketing_needs_consent_on_the_channel(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-agent")
    refused = await _log(server, token, _input(world.alice.id, kind="MARKETING", channel="PHONE"))
    assert refused["interaction"] is None
    assert refused["userErrors"] == [
        {
            "field": "channel",
            "code": "BAD_USER_INPUT",
            "message": "the customer has not consented to marketing by phone",
        }
    ]
    wechat = await _log(server, token, _input(world.alice.id, kind="MARKETING", channel="WECHAT"))
    assert wechat["userErrors"][0]["field"] == "channel"
    allowed = await _log(server, token, _input(world.alice.id, kind="MARKETING", channel="SMS"))
    assert allowed["userErrors"] == []
    inbound = await _log(
        server,
        token,
        _input(world.alice.id, kind="MARKETING", channel="PHONE", direction="INBOUND"),
    )
    assert inbound["userErrors"] == []


async def test_marketing_in_the_do_not_disturb_window_is_refused(
    server: Server, world: World
) -> None:
    local = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    window = Consent(
        sms=True,
        do_not_disturb_start=(local - timedelta(hours=1)).strftime("%H:%M"),
        do_not_disturb_end=(local + timedelta(hours=1)).strftime("%H:%M"),
    )
    customer_id = await add_customer(server.state, world, consent=window, seed=41)
    token = staff_token(server, world, "demo-agent")
    refused = await _log(server, token, _input(customer_id, kind="MARKETING", channel="SMS"))
    assert refused["userErrors"][0]["field"] == "occurredAt"
    assert "does not want to be disturbed" in refused["userErrors"][0]["message"]
    later = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    outside = await _log(
        server, token, _input(customer_id, kind="MARKETING", channel="SMS", occurredAt=later)
    )
    assert outside["userErrors"] == []
    service = await _log(server, token, _input(customer_id, kind="SERVICE", channel="SMS"))
    assert service["userErrors"] == []


async def test_bad_input_is_refused_and_nothing_is_written(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-agent")
    before = await server.graphql(
        NOTES, {"id": to_global_id("Customer", world.alice.id)}, token=token
    )
    for variables, field in (
        (_input(world.alice.id, satisfaction=6), "satisfaction"),
        (_input(world.alice.id, subject="   "), "subject"),
        (
            _input(world.alice.id, occurredAt=(datetime.now(UTC) + timedelta(days=1)).isoformat()),
            "occurredAt",
        ),
    ):
        payload = await _log(server, token, variables)
        assert payload["userErrors"][0]["field"] == field
    after = await server.graphql(
        NOTES, {"id": to_global_id("Customer", world.alice.id)}, token=token
    )
    total = after["data"]["customer"]["interactions"]["totalCount"]
    assert total == before["data"]["customer"]["interactions"]["totalCount"]


async def test_interactions_of_other_branches_cannot_be_logged(
    server: Server, world: World
) -> None:
    payload = await _log(server, staff_token(server, world, "demo-agent-b"), _input(world.alice.id))
    assert payload["userErrors"][0]["code"] == "NOT_FOUND"


PAGE = """
query Page($first: Int) {
  customers(first: $first) { edges { node { id interactions(first: 2) { totalCount
    pageInfo { hasNextPage } edges { node { subject staff { role } } } } } } }
}
"""


async def test_interactions_of_a_page_of_customers_load_in_constant_statements(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    counts = []
    for size in (2, 8, 20):
        body, statements = await server.count_statements(PAGE, {"first": size}, token=token)
        assert "errors" not in body, body
        counts.append(statements)
    # customers + interaction pages + interaction counts + staff
    assert counts[0] == counts[1] == counts[2]


async def test_customer_interactions_page_newest_first_with_cursors(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-supervisor")
    customer_id = await add_customer(server.state, world, seed=43)
    for hours in (5, 4, 3, 2, 1):
        at = (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
        await _log(server, token, _input(customer_id, subject=f"t-{hours}", occurredAt=at))
    query = """query($id: ID!, $after: String) { customer(id: $id) { interactions(first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { subject } } } } }"""
    subjects: list[str] = []
    after = None
    while True:
        body = await server.graphql(
            query, {"id": to_global_id("Customer", customer_id), "after": after}, token=token
        )
        connection = body["data"]["customer"]["interactions"]
        subjects += [e["node"]["subject"] for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert subjects == ["t-1", "t-2", "t-3", "t-4", "t-5"]
    assert connection["totalCount"] == 5
    listed = await server.graphql(
        "query($id: ID!) { interactions(first: 10, filter: {customerId: $id, kind: FOLLOW_UP}) { totalCount } }",
        {"id": to_global_id("Customer", customer_id)},
        token=token,
    )
    assert listed["data"]["interactions"]["totalCount"] == 5
