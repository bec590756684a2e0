"""No "Did you mean ...?" in production, for any kind of name a prober can guess at: fields,
arguments, types, enum values and input fields, written in the document or sent as variables,
on both executors (SPEC §4: field suggestions are off in production). Development keeps them.

Each probe selects ``tiers``, ``customers`` or ``revealCustomerPii``, whose resolvers read the
database: a refused probe executed no SQL statement, so it ran no resolver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api import metrics
from core.settings import Environment, Settings
from tests.api.conftest import signed_in
from tests.conftest import Server, staff_token
from tests.security.conftest import nothing_ran, running_app, variant
from tests.support import World

COUNT_BY_TIER = "query Probe($t: TierCode) { customers(filter: {tier: $t}) { totalCount } }"
COUNT_BY_FILTER = "query Probe($f: CustomerFilter) { customers(filter: $f) { totalCount } }"
REVEAL = """
mutation Probe($input: RevealCustomerPiiInput!) { revealCustomerPii(input: $input) { values { value } } }
"""
# (query, variables, the suggestion graphql would add in development)
PROBES: list[tuple[str, dict[str, Any] | None, str]] = [
    ("{ tiers { nam } }", None, "Did you mean 'name'?"),
    ("{ customers(firs: 1) { totalCount } }", None, "Did you mean 'first'?"),
    ("{ tiers { ... on Tie { name } } }", None, "Did you mean 'Tier'"),
    ("{ customers(filter: {tier: GOL}) { totalCount } }", None, "the enum value 'GOLD'?"),
    ("{ customers(filter: {tire: GOLD}) { totalCount } }", None, "Did you mean 'tier'"),
    (COUNT_BY_TIER, {"t": "GOL"}, "the enum value 'GOLD'?"),
    (COUNT_BY_FILTER, {"f": {"tire": "GOLD"}}, "Did you mean 'tier'"),
    (
        REVEAL,
        {"input": {"customerId": "Q3VzdG9tZXI6MQ==", "fields": ["PHON"], "purpose": "x"}},
        "'PHONE' or 'PAN'?",
    ),
]


@pytest.fixture(scope="module")
async def production_standard(settings: Settings) -> AsyncIterator[Server]:
    """Production with the compiled executor off: the standard executor answers everything."""
    production = variant(settings, environment=Environment.PRODUCTION, compiled_operations=False)
    async with running_app(production) as app:
        yield app


async def _messages(app: Server, token: str, query: str, variables: Any) -> list[str]:
    async with nothing_ran(app):
        response = await app.post(query, variables, token=token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("data") is None, body
    # A wrong name in the document fails validation; a wrong value in a variable, coercion.
    expected = "GRAPHQL_VALIDATION_FAILED" if variables is None else "BAD_USER_INPUT"
    assert {error["extensions"]["code"] for error in body["errors"]} == {expected}, body
    return [error["message"] for error in body["errors"]]


@pytest.mark.parametrize(("query", "variables", "suggestion"), PROBES)
async def test_development_suggests_the_names_near_a_wrong_one(
    server: Server, world: World, query: str, variables: Any, suggestion: str
) -> None:
    token = staff_token(server, world, "demo-supervisor")
    messages = await _messages(server, token, query, variables)
    assert any(suggestion in message for message in messages), messages


@pytest.mark.parametrize(("query", "variables", "suggestion"), PROBES)
async def test_production_names_no_neighbour_on_the_compiled_executors_path(
    server: Server, production: Server, world: World, query: str, variables: Any, suggestion: str
) -> None:
    token = staff_token(server, world, "demo-supervisor")
    messages = await _messages(production, token, query, variables)
    assert not any("Did you mean" in message for message in messages), messages


@pytest.mark.parametrize(("query", "variables", "suggestion"), PROBES)
async def test_production_names_no_neighbour_on_the_standard_executor(
    server: Server,
    production_standard: Server,
    world: World,
    query: str,
    variables: Any,
    suggestion: str,
) -> None:
    token = staff_token(server, world, "demo-supervisor")
    messages = await _messages(production_standard, token, query, variables)
    assert not any("Did you mean" in message for message in messages), messages


async def test_a_query_with_a_wrong_variable_reaches_the_compiled_executor_first(
    server: Server, production: Server, world: World
) -> None:
    """The variables' probes do go through the compiled executor, which hands them over."""
    token = staff_token(server, world, "demo-supervisor")
    await production.post(COUNT_BY_TIER, {"t": "GOLD"}, token=token)  # compiled once, valid
    before = metrics.COMPILED.labels(executor="fallback")._value.get()
    messages = await _messages(production, token, COUNT_BY_TIER, {"t": "GOL"})
    assert metrics.COMPILED.labels(executor="fallback")._value.get() == before + 1
    assert messages == [
        "Variable '$t' has invalid value: Value 'GOL' does not exist in 'TierCode' enum."
    ]


ASSIGNED = """
subscription Assigned($f: InteractionFilter) {
  assignedToMe { customer { interactions(filter: $f) { totalCount } } }
}
"""


async def _subscription_error(app: Server, token: str, variables: Any) -> list[Any]:
    async with signed_in(app.base_url, token) as socket:
        await socket.subscribe("1", ASSIGNED, variables)
        message = await socket.receive()
    assert (message["type"], message["id"]) == ("error", "1"), message
    errors: list[Any] = message["payload"]
    return errors


@pytest.mark.parametrize("variables", [{"f": {"chanel": "PHONE"}}, {"f": {"channel": "PHON"}}])
async def test_a_subscription_over_websocket_names_no_neighbour_in_production(
    server: Server, production: Server, world: World, variables: Any
) -> None:
    token = staff_token(server, world, "demo-agent")
    suggested = await _subscription_error(server, token, variables)
    assert "Did you mean" in suggested[0]["message"], suggested
    errors = await _subscription_error(production, token, variables)
    assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"]
    assert not any("Did you mean" in error["message"] for error in errors), errors
