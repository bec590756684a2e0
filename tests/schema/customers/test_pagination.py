"""Cursor paging backwards and forwards, filters, and bounds on page size."""

from __future__ import annotations

from typing import Any

from tests.conftest import Server, staff_token
from tests.support import World

IDS_PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $filter: CustomerFilter) {
  customers(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { id lifecycleStage tier { code } branch { code } } }
  }
}
"""


async def _page(server: Server, token: str, **variables: Any) -> dict[str, Any]:
    body = await server.graphql(IDS_PAGE, variables, token=token)
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["customers"]
    return connection


def _ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


async def _all_ids(server: Server, token: str) -> list[str]:
    """Every customer, page by page: the shared test server holds however many other tests
    added, possibly more than one page."""
    ids: list[str] = []
    after = None
    while True:
        page = await _page(server, token, first=100, after=after)
        ids += _ids(page)
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


async def test_paging_backwards_from_the_end_gives_the_same_order(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    everything = await _all_ids(server, token)
    tail = await _page(server, token, last=5)
    assert _ids(tail) == everything[-5:]
    assert tail["pageInfo"]["hasPreviousPage"] is True
    before = await _page(server, token, last=5, before=tail["pageInfo"]["startCursor"])
    assert _ids(before) == everything[-10:-5]
    assert before["pageInfo"]["hasNextPage"] is True


async def test_forward_pages_do_not_overlap_and_cover_everything(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    everything = _ids(await _page(server, token, first=100))
    first = await _page(server, token, first=4)
    second = await _page(server, token, first=4, after=first["pageInfo"]["endCursor"])
    assert _ids(first) + _ids(second) == everything[:8]
    assert first["pageInfo"]["hasNextPage"] is True


async def test_filters_narrow_the_page_and_the_total(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-admin")
    gold = await _page(server, token, first=100, filter={"tier": "GOLD"})
    assert gold["totalCount"] >= 2  # alice and bob are gold
    assert {edge["node"]["tier"]["code"] for edge in gold["edges"]} == {"GOLD"}
    branch_b = world.branches["SH-PD"].id
    from schema.relay import to_global_id

    in_b = await _page(
        server, token, first=100, filter={"branchId": to_global_id("Branch", branch_b)}
    )
    assert {edge["node"]["branch"]["code"] for edge in in_b["edges"]} == {"SH-PD"}
    stage = await _page(server, token, first=100, filter={"lifecycleStage": "DORMANT"})
    assert {edge["node"]["lifecycleStage"] for edge in stage["edges"]} <= {"DORMANT"}


async def test_filtering_by_risk_grade_needs_the_right_to_see_it(
    server: Server, world: World
) -> None:
    for username, allowed in (("demo-risk", True), ("demo-agent", False), ("demo-marketer", False)):
        token = staff_token(server, world, username)
        body = await server.graphql(
            "{ customers(filter: {riskGrade: A}) { totalCount } }", token=token
        )
        if allowed:
            assert "errors" not in body, body
        else:
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", username


async def test_page_size_and_cursor_are_validated(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-admin")
    cases = (
        {"first": 101},
        {"first": -1},
        {"first": 2, "last": 2},
        {"first": 2, "after": "not-a-cursor"},
    )
    for variables in cases:
        body = await server.graphql(IDS_PAGE, variables, token=token)
        assert body["data"] is None or body["data"]["customers"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", variables


async def test_a_foreign_global_id_is_bad_input(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-admin")
    from schema.relay import to_global_id

    body = await server.graphql(
        "query($id: ID!) { customer(id: $id) { id } }",
        {"id": to_global_id("Tier", world.alice.id)},
        token=token,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
