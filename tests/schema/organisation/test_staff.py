"""Whom a supervisor may hand a complaint to: ``staffMembers``, and the IDs it and ``viewer``
give, which ``assignComplaint`` accepts as they are."""

from __future__ import annotations

from typing import Any

from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.support import World

PAGE = 100
STAFF = """
query Staff($filter: StaffFilter) {
  viewer { id }
  staffMembers(first: 100, filter: $filter) { totalCount edges { node { id displayName role } } }
}
"""
FILE = """
mutation File($input: FileComplaintInput!) {
  fileComplaint(input: $input) { complaint { id version } userErrors { code } }
}
"""
ASSIGN = """
mutation Assign($input: AssignComplaintInput!) {
  assignComplaint(input: $input) {
    complaint { assignee { id displayName } } userErrors { field code message }
  }
}
"""


def _staff_id(world: World, username: str) -> str:
    return to_global_id("StaffMember", world.staff[username].id)


def _listed(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert "errors" not in body, body
    connection = body["data"]["staffMembers"]
    # Other tests add staff to the shared world, past one page; the demo staff, the oldest,
    # stay on the first page (the list is oldest first).
    assert len(connection["edges"]) == min(connection["totalCount"], PAGE)
    return {edge["node"]["id"]: edge["node"] for edge in connection["edges"]}


async def test_a_supervisor_lists_the_staff_of_their_branch_and_an_admin_everyone(
    server: Server, world: World
) -> None:
    supervisor = staff_token(server, world, "demo-supervisor")
    admin = staff_token(server, world, "demo-admin")

    own = _listed(await server.graphql(STAFF, token=supervisor))
    everyone = _listed(await server.graphql(STAFF, token=admin))

    assert {_staff_id(world, "demo-supervisor"), _staff_id(world, "demo-agent")} <= set(own)
    assert _staff_id(world, "demo-agent-b") not in own
    assert _staff_id(world, "demo-admin") not in own
    assert {_staff_id(world, name) for name in ("demo-agent-b", "demo-marketer")} <= set(everyone)


async def test_the_filter_narrows_by_role_and_branch_within_the_callers_reach(
    server: Server, world: World
) -> None:
    supervisor = staff_token(server, world, "demo-supervisor")
    other_branch = to_global_id("Branch", world.branches["SH-PD"].id)

    agents = _listed(await server.graphql(STAFF, {"filter": {"role": "AGENT"}}, token=supervisor))
    elsewhere = _listed(
        await server.graphql(STAFF, {"filter": {"branch": other_branch}}, token=supervisor)
    )
    by_admin = _listed(
        await server.graphql(
            STAFF,
            {"filter": {"branch": other_branch, "role": "AGENT"}},
            token=staff_token(server, world, "demo-admin"),
        )
    )

    assert agents
    assert {node["role"] for node in agents.values()} == {"AGENT"}
    assert _staff_id(world, "demo-agent") in agents
    assert elsewhere == {}
    assert _staff_id(world, "demo-agent-b") in by_admin
    assert _staff_id(world, "demo-agent") not in by_admin


async def test_roles_that_assign_no_one_are_refused_and_the_rest_arrives(
    server: Server, world: World
) -> None:
    for name in ("demo-agent", "demo-auditor", "demo-marketer"):
        body = await server.graphql(STAFF, token=staff_token(server, world, name))

        assert body["data"]["viewer"]["id"], body
        assert body["data"]["staffMembers"] is None
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
            ("FORBIDDEN", ["staffMembers"])
        ]


async def test_a_supervisor_assigns_by_a_listed_id_and_takes_one_by_their_viewer_id(
    server: Server, world: World
) -> None:
    supervisor = staff_token(server, world, "demo-supervisor")
    listing = await server.graphql(STAFF, {"filter": {"role": "AGENT"}}, token=supervisor)
    agent_id = _staff_id(world, "demo-agent")
    assert agent_id in _listed(listing)
    viewer_id = listing["data"]["viewer"]["id"]
    supervisor_id = _staff_id(world, "demo-supervisor")

    for assignee, expected in ((agent_id, agent_id), (viewer_id, supervisor_id)):
        filed = await server.graphql(
            FILE,
            {"input": {"description": "账单金额不对", "category": "BILLING_DISPUTE"}},
            token=customer_token(server, world.alice.id),
        )
        complaint = filed["data"]["fileComplaint"]["complaint"]
        assign = {"id": complaint["id"], "version": complaint["version"], "assigneeId": assignee}
        body = await server.graphql(ASSIGN, {"input": assign}, token=supervisor)

        payload = body["data"]["assignComplaint"]
        assert payload["userErrors"] == [], body
        assert payload["complaint"]["assignee"]["id"] == expected


async def test_the_viewer_id_is_a_global_id_that_node_refetches(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    viewer = (await server.graphql("{ viewer { id username } }", token=token))["data"]["viewer"]

    assert viewer["id"] == to_global_id("Viewer", world.staff["demo-agent"].id)
    body = await server.graphql(
        "query N($id: ID!) { node(id: $id) { ... on Viewer { username } } }",
        {"id": viewer["id"]},
        token=token,
    )
    assert body == {"data": {"node": {"username": "demo-agent"}}}
    someone_else = await server.graphql(
        "query N($id: ID!) { node(id: $id) { id } }",
        {"id": viewer["id"]},
        token=staff_token(server, world, "demo-supervisor"),
    )
    assert [e["extensions"]["code"] for e in someone_else["errors"]] == ["NOT_FOUND"]
