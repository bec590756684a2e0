"""The abuse limits: each default, each setting, refused before any resolver runs
(SPEC §4). Defaults are shown on the shared server; the ``tight`` app serves the same
database with every limit lowered, and refuses what the defaults allow.

Queries select ``tiers`` or ``customers``, whose resolvers read the database, so a refusal
that executed no SQL statement (``nothing_ran``) ran no resolver.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query, get_operation_ast, parse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from api.admission.cost import operation_cost
from api.admission.shape import document_shape
from api.graphql_schema import schema
from core.identity import Role
from core.settings import Settings
from models.customers.identifiers import national_id_check_char
from tests.api.conftest import STEP_SECONDS, signed_in
from tests.conftest import Server, customer_token, staff_token
from tests.security.conftest import codes, nothing_ran, running_app, variant
from tests.support import World, _sync_dsn, customer_count

TIERS = "{ tiers { name } }"
TIGHT = {
    "max_query_tokens": 40,
    "max_query_depth": 4,
    "max_query_aliases": 2,
    "max_query_directives": 3,
    "max_field_repeats": 3,
    "max_query_cost": 60,
    "default_page_size": 5,
    "max_page_size": 10,
    "max_request_bytes": 2048,
    "batching_enabled": True,
    "max_batch_size": 2,
    "client_max_query_cost": {"partner-x": 10, "cardcrm-mobile/9.9.9": 7},
}
DEFAULTS = {
    "max_query_tokens": 1000,
    "max_query_depth": 10,
    "max_introspection_depth": 15,
    "max_query_aliases": 15,
    "max_query_directives": 50,
    "max_field_repeats": 50,
    "max_query_cost": 5000,
    "max_page_size": 100,
    "max_request_bytes": 1024 * 1024,
    "execution_timeout_seconds": 10.0,
    "batching_enabled": False,
    "max_batch_size": 10,
}
INTERACTIONS_COST = """
query Cost($a: Int, $b: Int) {
  {extra} customers(first: $a) {
    edges { node { id interactions(first: $b) { edges { node { id } } } } }
  }
}
"""
CREATE = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } userErrors { code message } }
}
"""
TIER_FIELDS = ("name", "rank", "code", "id", "benefits", "serviceLevelHours")


@pytest.fixture(scope="module")
async def tight(server: Server, settings: Settings) -> AsyncIterator[Server]:
    async with running_app(variant(settings, **TIGHT)) as app:
        yield app


def _token(server: Server, world: World, username: str = "demo-agent", **claims: Any) -> str:
    if not claims:
        return staff_token(server, world, username)
    user = world.staff[username]
    return server.state.tokens.issue(
        subject=str(user.id),
        role=Role(user.role),
        branch_id=user.branch_id,
        username=user.username,
        **claims,
    )


async def _refused(server: Server, token: str, query: str, **kwargs: Any) -> dict[str, Any]:
    """Posts a query that must be refused before execution; returns the response body."""
    async with nothing_ran(server):
        response = await server.post(query, token=token, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _runs(server: Server, token: str, query: str, **kwargs: Any) -> Any:
    body = await server.graphql(query, token=token, **kwargs)
    assert "errors" not in body, body
    return body["data"]


def test_the_defaults_are_the_documented_ones() -> None:
    defaults = {name: Settings.model_fields[name].default for name in DEFAULTS}
    assert defaults == DEFAULTS


# Depth -------------------------------------------------------------------------------------


async def test_ten_levels_pass_the_depth_limit_and_eleven_do_not(
    server: Server, world: World
) -> None:
    token = _token(server, world)
    ten = await _refused(server, token, "{ tiers { " + "a { " * 8 + "b" + " }" * 8 + " } }")
    eleven = await _refused(server, token, "{ tiers { " + "a { " * 9 + "b" + " }" * 9 + " } }")
    assert codes(ten) == {
        "GRAPHQL_VALIDATION_FAILED"
    }  # within the limit: graphql's validation answers
    assert codes(eleven) == {"QUERY_TOO_COMPLEX"}
    assert "11 levels deep; the limit is 10" in eleven["errors"][0]["message"]


async def test_the_standard_introspection_query_runs_outside_production(
    server: Server, world: World
) -> None:
    # Given the query GraphQL tools send (schemathesis, codegen), whose fragments on __Type
    # go ten levels deep; when an admin sends it; then all 15 levels count as introspection.
    data = await _runs(server, _token(server, world, "demo-admin"), get_introspection_query())
    assert data["__schema"]["queryType"]["name"] == "Query"
    shape = document_shape(parse(get_introspection_query()))
    assert (shape.depth, shape.introspection_depth) == (0, 15)


# Aliases, repeats, directives, tokens ------------------------------------------------------


async def test_fifteen_aliases_run_and_sixteen_are_refused(server: Server, world: World) -> None:
    token = _token(server, world)
    fifteen = " ".join(f"t{i}: tiers {{ name }}" for i in range(15))
    data = await _runs(server, token, f"{{ {fifteen} }}")
    body = await _refused(server, token, f"{{ {fifteen} t15: tiers {{ name }} }}")
    assert len(data) == 15
    assert codes(body) == {"QUERY_TOO_COMPLEX"}
    assert "16 aliases; the limit is 15" in body["errors"][0]["message"]


async def test_a_field_selected_fifty_times_runs_and_fifty_one_times_is_refused(
    server: Server, world: World
) -> None:
    token = _token(server, world)
    await _runs(server, token, "{ tiers { " + "name " * 50 + "} }")
    body = await _refused(server, token, "{ tiers { " + "name " * 51 + "} }")
    assert codes(body) == {"QUERY_TOO_COMPLEX"}
    assert "one field 51 times" in body["errors"][0]["message"]


def _with_directives(count: int) -> str:
    """``count`` tier fields, each with a directive (a field repeats every six)."""
    fields = (TIER_FIELDS[i % len(TIER_FIELDS)] for i in range(count))
    return "{ tiers { " + " ".join(f"{field} @skip(if: false)" for field in fields) + " } }"


async def test_fifty_directives_run_and_fifty_one_are_refused(server: Server, world: World) -> None:
    token = _token(server, world)
    await _runs(server, token, _with_directives(50))
    body = await _refused(server, token, _with_directives(51))
    assert codes(body) == {"QUERY_TOO_COMPLEX"}
    assert "51 directives; the limit is 50" in body["errors"][0]["message"]


async def test_a_thousand_tokens_run_and_a_thousand_and_one_are_refused(
    server: Server, world: World
) -> None:
    token = _token(server, world)
    await _runs(server, token, TIERS + " #\n" * 994)  # comments count: 6 + 994 tokens
    body = await _refused(server, token, TIERS + " #\n" * 995)
    assert codes(body) == {"QUERY_TOO_COMPLEX"}
    assert "more than 1000 tokens" in body["errors"][0]["message"]


# Cost and page size ------------------------------------------------------------------------


async def test_an_operation_costing_5000_runs_and_one_costing_5001_is_refused(
    server: Server, world: World
) -> None:
    token = _token(server, world)
    at_limit = INTERACTIONS_COST.replace("{extra}", "__typename")  # 2 + 21 × (4 + 3 × 78)
    over = INTERACTIONS_COST.replace("{extra}", "")  # 1 + 20 × (4 + 3 × 82)
    data = await _runs(server, token, at_limit, variables={"a": 21, "b": 78})
    body = await _refused(server, token, over, variables={"a": 20, "b": 82})
    assert data["customers"]["edges"]
    assert codes(body) == {"QUERY_TOO_COMPLEX"}
    assert "costs 5001; the limit is 5000" in body["errors"][0]["message"]


def test_a_connection_multiplies_the_cost_of_what_it_selects() -> None:
    document = parse("{ customers(first: 100) { edges { node { name cards { pan } } } } }")
    operation = get_operation_ast(document)
    assert operation is not None
    cost = operation_cost(
        schema._schema, document, operation, {}, default_page_size=20, max_page_size=100
    )
    assert cost.total == 1 + 100 * (1 + 1 + 1 + (1 + 20 * 1))


@hypothesis_settings(max_examples=30, deadline=None)
@given(first=st.integers(min_value=0, max_value=100), nested=st.integers(1, 100))
def test_the_cost_grows_linearly_with_each_page_size(first: int, nested: int) -> None:
    query = (
        "query Q($a: Int, $b: Int) { customers(first: $a) "
        "{ edges { node { interactions(first: $b) { edges { node { id } } } } } } }"
    )
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    cost = operation_cost(
        schema._schema,
        document,
        operation,
        {"a": first, "b": nested},
        default_page_size=20,
        max_page_size=100,
    )
    assert cost.total == 1 + first * (1 + 1 + 1 + nested * 3)
    assert cost.oversized is None


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ customers(first: 101) { totalCount } }", None),
        ("query P($n: Int) { customers(first: $n) { totalCount } }", {"n": 101}),
        ("{ complaints(last: -1) { totalCount } }", None),
        (
            "{ customers(first: 1) { edges { node { interactions(first: 101) "
            "{ totalCount } } } } }",
            None,
        ),
    ],
)
async def test_a_page_larger_than_100_is_refused_before_any_resolver(
    server: Server, world: World, query: str, variables: dict[str, Any] | None
) -> None:
    body = await _refused(server, _token(server, world), query, variables=variables)
    assert codes(body) == {"BAD_USER_INPUT"}
    assert "must be between 0 and 100" in body["errors"][0]["message"]


async def test_a_page_of_100_runs(server: Server, world: World) -> None:
    data = await _runs(server, _token(server, world), "{ customers(first: 100) { totalCount } }")
    assert data["customers"]["totalCount"] > 0


# Request body ------------------------------------------------------------------------------


def _body(size: int) -> bytes:
    """A JSON request of exactly ``size`` bytes (padded in an unused variable)."""
    empty = b'{"query":"{ tiers { name } }","variables":{"pad":""}}'
    return empty.replace(b'""', b'"' + b"x" * (size - len(empty)) + b'"')


async def _post_bytes(server: Server, token: str, content: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return await server.client.post("/graphql", content=content, headers=headers)


async def test_a_body_of_one_mebibyte_runs_and_one_byte_more_is_413(
    server: Server, world: World
) -> None:
    token = _token(server, world)
    fits = await _post_bytes(server, token, _body(1024 * 1024))
    async with nothing_ran(server):
        over = await _post_bytes(server, token, _body(1024 * 1024 + 1))
    assert fits.status_code == 200, fits.text
    assert over.status_code == 413
    assert over.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert over.json()["errors"][0]["extensions"]["requestId"] == over.headers["x-request-id"]


async def test_a_chunked_body_is_counted_as_it_streams_in(server: Server, world: World) -> None:
    body = _body(1024 * 1024 + 10)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked encoding
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    async with nothing_ran(server):
        response = await _post_bytes(server, _token(server, world), chunks())
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# Batches -----------------------------------------------------------------------------------


async def test_batches_are_refused_unless_enabled(server: Server, world: World) -> None:
    batch = [{"query": TIERS}, {"query": TIERS}]
    async with nothing_ran(server):
        response = await server.client.post(
            "/graphql",
            json=batch,
            headers={"Authorization": f"Bearer {_token(server, world)}"},
        )
    assert response.status_code == 400
    assert codes(response.json()) == {"BAD_USER_INPUT"}


async def test_an_enabled_batch_runs_up_to_its_size_and_no_further(
    server: Server, tight: Server, world: World
) -> None:
    headers = {"Authorization": f"Bearer {_token(server, world)}"}
    two = await tight.client.post("/graphql", json=[{"query": TIERS}] * 2, headers=headers)
    async with nothing_ran(tight):
        three = await tight.client.post("/graphql", json=[{"query": TIERS}] * 3, headers=headers)
    assert two.status_code == 200, two.text
    assert [len(result["data"]["tiers"]) > 0 for result in two.json()] == [True, True]
    assert three.status_code == 400
    assert "1 to 2 operations" in three.json()["errors"][0]["message"]


# Every limit is a setting ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ customers { edges { node { cards { last4 } } } } }", "5 levels deep; the limit is 4"),
        ("{ a: tiers { name } b: tiers { name } c: tiers { name } }", "3 aliases"),
        ("{ tiers { name name name name } }", "one field 4 times"),
        (_with_directives(4), "4 directives"),
        ("{ tiers { name } }" + " #\n" * 35, "more than 40 tokens"),
        (
            "{ customers(first: 10) { edges { node { id name } } }"
            " complaints(first: 10) { edges { node { id } } } }",
            "costs 72; the limit is 60",  # (1 + 10 × 4) + (1 + 10 × 3)
        ),
        ("{ customers(first: 11) { totalCount } }", "between 0 and 10"),
    ],
)
async def test_each_limit_is_a_setting(
    server: Server, tight: Server, world: World, query: str, message: str
) -> None:
    token = _token(server, world)
    await _runs(server, token, query)  # within the defaults
    body = await _refused(tight, token, query)
    assert message in body["errors"][0]["message"]


async def test_the_body_limit_is_a_setting(server: Server, tight: Server, world: World) -> None:
    response = await _post_bytes(tight, _token(server, world), _body(2049))
    assert response.status_code == 413


# Per client --------------------------------------------------------------------------------

ME = "{ me { id cards { last4 } } }"  # 1 + (1 + (1 + 5 × 1)) = 8 with pages of 5


async def test_a_partner_client_has_its_own_budget_and_the_admin_role_no_exemption(
    server: Server, tight: Server, world: World
) -> None:
    console = _token(server, world)
    partner = _token(server, world, client_id="partner-x")
    partner_admin = _token(server, world, "demo-admin", client_id="partner-x")
    query = "{ customers(first: 4) { edges { node { id } } } }"  # 1 + 4 × 3 = 13
    await _runs(tight, console, query)
    for token in (partner, partner_admin):
        body = await _refused(tight, token, query)
        assert "costs 13; the limit is 10" in body["errors"][0]["message"]


async def test_a_mobile_app_version_has_its_own_budget(
    server: Server, tight: Server, world: World
) -> None:
    token = customer_token(server, world.alice.id)
    await _runs(tight, token, ME)
    await _runs(tight, token, ME, headers={"X-App-Version": "1.0.0"})
    body = await _refused(tight, token, ME, headers={"X-App-Version": "9.9.9"})
    assert "costs 8; the limit is 7" in body["errors"][0]["message"]


# Subscriptions -----------------------------------------------------------------------------


async def test_the_limits_hold_for_subscriptions_too(server: Server, world: World) -> None:
    query = "subscription { assignedToMe { " + "id " * 51 + "} }"
    async with signed_in(server.base_url, _token(server, world)) as socket:
        await socket.subscribe("s1", query)
        message = await socket.receive()
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


# Execution timeout -------------------------------------------------------------------------

TIMEOUT_SECONDS = 1.0


@contextlib.contextmanager
def _customers_locked(database_url: str) -> Iterator[None]:
    """Another connection holds a lock that makes inserting a customer wait."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(str(Path(str(url.database))), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")  # the database's one write lock
    else:
        import psycopg2

        connection = psycopg2.connect(_sync_dsn(database_url))
        connection.cursor().execute("LOCK TABLE customers IN SHARE ROW EXCLUSIVE MODE")
    try:
        yield
    finally:
        connection.rollback()
        connection.close()


def _new_customer() -> dict[str, Any]:
    first17 = "11010519900101" + f"{uuid.uuid4().int % 1000:03d}"
    return {
        "input": {
            "name": "超时",
            "birthDate": "1990-01-01",
            "idNumber": first17 + national_id_check_char(first17),
            "phone": f"137{uuid.uuid4().int % 10**8:08d}",
        }
    }


async def test_an_operation_stuck_on_a_lock_past_the_timeout_is_unavailable_and_rolled_back(
    server: Server, settings: Settings, world: World
) -> None:
    """The deadline met while the request waits on the database is the database's failure
    (503 SERVICE_UNAVAILABLE, retry later), not the query's (QUERY_TOO_COMPLEX)."""
    token = _token(server, world)
    before = await customer_count(server.state)
    timed = variant(settings, execution_timeout_seconds=TIMEOUT_SECONDS)
    async with running_app(timed) as app:
        with _customers_locked(settings.sqlalchemy_url):
            pending = asyncio.create_task(app.post(CREATE, _new_customer(), token=token))
            await asyncio.sleep(TIMEOUT_SECONDS + 0.5)
        response = await asyncio.wait_for(pending, STEP_SECONDS)
        after = await app.graphql(TIERS, token=token)
    assert response.status_code == 503, response.text
    assert codes(response.json()) == {"SERVICE_UNAVAILABLE"}
    assert response.headers["retry-after"] == str(settings.database_retry_after_seconds)
    assert await customer_count(server.state) == before
    assert after["data"]["tiers"]  # the instance, and its pool, serve on


# The measurements themselves ---------------------------------------------------------------


@hypothesis_settings(max_examples=30, deadline=None)
@given(levels=st.integers(min_value=1, max_value=60), aliased=st.booleans())
def test_a_fragment_measures_as_its_inlined_selection(levels: int, aliased: bool) -> None:
    leaf = "x: name" if aliased else "name"
    inner = leaf
    for _ in range(levels - 1):
        inner = f"a {{ {inner} }}"
    inline = document_shape(parse(f"{{ {inner} }}"))
    spread = document_shape(parse(f"{{ ...F }} fragment F on Query {{ {inner} }}"))
    assert inline == spread
    assert inline.depth == levels
    assert inline.aliases == int(aliased)
