"""``customers`` with the segment filter and the metric orders: the compiled executor answers
exactly as the standard one, by its plan when there is no error, and a refused filter (a
guarded field, a cursor of another order) falls back to the standard executor's errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.compiled.test_both_executors import _both
from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF as STAFF
from tests.support import World

PAGE = """
query Segment($filter: CustomerFilter, $order: CustomerOrder, $after: String) {
  customers(first: 4, after: $after, filter: $filter, orderBy: $order) {
    totalCount
    edges { cursor node { id lifecycleStage segments tags rfm { monetary recencyDays } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
OPEN_FILTER: dict[str, Any] = {
    "lifecycleStages": ["ACTIVE", "LOYAL", "NEW", "AT_RISK", "DORMANT"],
    "spend": {"min": "0"},
    "activated": True,
}


@pytest.mark.parametrize("order", ["CHURN_SCORE", "SPEND", "LAST_TRANSACTION", "CREATED_AT"])
@pytest.mark.parametrize("role", ["admin", "supervisor", "agent", "customer"])
async def test_a_filtered_ordered_page_gets_the_same_answer_from_both_executors(
    server: Server, standard: Server, world: World, order: str, role: str
) -> None:
    token = (
        customer_token(server, world.alice.id)
        if role == "customer"
        else staff_token(server, world, STAFF[role])
    )
    variables: dict[str, Any] = {
        "filter": OPEN_FILTER,
        "order": {"field": order, "direction": "DESC"},
    }
    compiled, reference, executor = await _both(server, standard, PAGE, variables, token)
    assert compiled == reference
    assert executor == "compiled", reference
    connection = compiled["data"]["customers"]
    if connection["pageInfo"]["hasNextPage"]:
        variables["after"] = connection["pageInfo"]["endCursor"]
        compiled, reference, executor = await _both(server, standard, PAGE, variables, token)
        assert compiled == reference
        assert executor == "compiled"


async def test_a_refused_filter_falls_back_to_the_standard_errors(
    server: Server, standard: Server, world: World
) -> None:
    token = staff_token(server, world, STAFF["agent"])
    variables = {"filter": {"riskGrades": ["E"]}}
    compiled, reference, executor = await _both(server, standard, PAGE, variables, token)
    assert compiled == reference
    assert executor == "fallback"
    assert compiled["data"] == {"customers": None}
    assert compiled["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_cursor_of_another_order_falls_back_to_bad_user_input(
    server: Server, standard: Server, world: World
) -> None:
    token = staff_token(server, world, STAFF["admin"])
    first = await server.graphql(PAGE, {"order": {"field": "CHURN_SCORE"}}, token=token)
    cursor = first["data"]["customers"]["pageInfo"]["endCursor"]
    variables = {"order": {"field": "SPEND"}, "after": cursor}
    compiled, reference, executor = await _both(server, standard, PAGE, variables, token)
    assert compiled == reference
    assert executor == "fallback"
    assert compiled["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
