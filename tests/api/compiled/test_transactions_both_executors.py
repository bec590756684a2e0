"""The transaction connections answered by the compiled executor and by the standard one: the
responses must be identical, for every role (as tests/api/compiled/test_both_executors.py
holds the benchmark workloads to)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.compiled.test_both_executors import _both, planned_or
from tests.conftest import Server, customer_token, staff_token
from tests.schema.transactions.test_reading import Holder, holder
from tests.support import DEMO_STAFF, World, add_oauth_client

FIELDS = """
  totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node {
    __typename id amount currency merchantName merchantCategory channel occurredAt
    card { id last4 pan status }
  } }
"""
STAFF = f"""
query Spending($first: Int, $filter: TransactionFilter) {{
  customers(first: 6) {{ edges {{ node {{
    id
    transactions(first: $first, filter: $filter) {{ {FIELDS} }}
    cards {{ last4 transactions(first: 2) {{ totalCount edges {{ node {{ id amount }} }} }} }}
  }} }} }}
}}
"""
APP = f"""
query Mine($first: Int, $filter: TransactionFilter) {{
  me {{ transactions(first: $first, filter: $filter) {{ {FIELDS} }} }}
}}
"""
VARIABLES = [
    {"first": 3},
    {"first": 20, "filter": {"category": "DINING"}},
    {"first": 4, "filter": {"amountMin": "100", "occurredFrom": "2025-09-15T00:00:00Z"}},
]


@pytest.fixture(scope="module")
async def spender(server: Server, world: World) -> Holder:
    credentials = await add_oauth_client(server.state, scopes="transactions:write", name="both-tx")
    return await holder(server, world, credentials.client.client_id, "BJ-CY")


@pytest.mark.parametrize("variables", VARIABLES)
@pytest.mark.parametrize("role", sorted(DEMO_STAFF))
async def test_staff_get_the_same_transactions_from_both_executors(
    server: Server,
    standard: Server,
    world: World,
    spender: Holder,
    role: str,
    variables: dict[str, Any],
) -> None:
    token = staff_token(server, world, DEMO_STAFF[role])

    compiled, reference, executor = await _both(server, standard, STAFF, variables, token)

    assert compiled == reference
    assert executor in planned_or(reference), reference
    if role in ("admin", "supervisor", "agent"):
        assert executor == "compiled"
        nodes = [
            edge["node"]["transactions"]["edges"] for edge in compiled["data"]["customers"]["edges"]
        ]
        assert any(nodes), compiled


@pytest.mark.parametrize("variables", VARIABLES)
async def test_the_customer_gets_the_same_transactions_from_both_executors(
    server: Server, standard: Server, spender: Holder, variables: dict[str, Any]
) -> None:
    token = customer_token(server, spender.customer_id)

    compiled, reference, executor = await _both(server, standard, APP, variables, token)

    assert compiled == reference
    assert executor == "compiled"
    assert compiled["data"]["me"]["transactions"]["edges"]


async def test_a_bad_filter_falls_back_to_the_same_errors(
    server: Server, standard: Server, world: World, spender: Holder
) -> None:
    token = staff_token(server, world, DEMO_STAFF["agent"])
    variables = {"first": 2, "filter": {"amountMin": "9", "amountMax": "1"}}

    compiled, reference, executor = await _both(server, standard, STAFF, variables, token)

    assert compiled == reference
    assert executor == "fallback"
    assert {error["extensions"]["code"] for error in compiled["errors"]} == {"BAD_USER_INPUT"}
