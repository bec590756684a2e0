"""GraphQL over HTTP as its specification (and graphql-http's audit, tests/api/
test_reference_clients.py) reads it: the request parameters' types, the
``application/graphql-response+json`` media type and its status codes, the codes of
request errors, subscriptions kept off HTTP, and the headers of authenticated answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.responses import response_media_type
from schema.relay import to_global_id
from tests.conftest import Server, staff_token
from tests.security.conftest import nothing_ran
from tests.support import World

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
TYPENAME = "{ __typename }"
TIERS = "{ tiers { code } }"
UNPARSABLE = "{ tiers { code "
INVALID = "{ tiers { nope } }"
PAGE = "query Page($first: Int) { customers(first: $first) { totalCount } }"
TIERS_AND_CUSTOMER = "query Both($id: ID!) { tiers { code } customer(id: $id) { id } }"
SUBSCRIPTION = "subscription Mine { assignedToMe { id } }"


def _headers(token: str, accept: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if accept is not None:
        headers["Accept"] = accept
    return headers


async def _post(
    server: Server, token: str, body: dict[str, Any], accept: str | None = None
) -> httpx.Response:
    return await server.client.post("/graphql", json=body, headers=_headers(token, accept))


def _error_codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


# --- the request parameters ----------------------------------------------------------------


@pytest.mark.parametrize("operation_name", [{}, [], {"name": "Mine"}, ["Mine"]])
async def test_an_operation_name_that_is_not_a_string_is_400_bad_user_input(
    server: Server, world: World, operation_name: object
) -> None:
    token = staff_token(server, world, "demo-admin")
    for query in (TYPENAME, TIERS):  # each runs on the compiled executor when well asked
        response = await _post(server, token, {"query": query, "operationName": operation_name})

        assert response.status_code == 400, response.text
        assert _error_codes(response) == ["BAD_USER_INPUT"]
        assert "`operationName` must be a string" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "Application/Json; Charset=UTF-8"])
async def test_the_json_media_type_is_read_in_any_case(
    server: Server, world: World, content_type: str
) -> None:
    token = staff_token(server, world, "demo-agent")
    headers = {**_headers(token), "Content-Type": content_type}
    response = await server.client.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers=headers
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("parameter", ["variables", "extensions"])
async def test_a_get_whose_parameter_is_not_json_says_which_it_is(
    server: Server, world: World, parameter: str
) -> None:
    token = staff_token(server, world, "demo-agent")
    params = {"query": TYPENAME, parameter: "{"}
    response = await server.client.get("/graphql", params=params, headers=_headers(token))

    assert response.status_code == 400, response.text
    assert _error_codes(response) == ["BAD_USER_INPUT"]
    assert f"`{parameter}`" in response.json()["errors"][0]["message"]


# --- application/graphql-response+json ----------------------------------------------------


async def test_a_client_accepting_graphql_response_json_gets_it(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    response = await _post(server, token, {"query": TIERS}, accept=GRAPHQL_RESPONSE_JSON)

    assert response.status_code == 200
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    assert response.json()["data"]["tiers"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": UNPARSABLE}, "GRAPHQL_PARSE_FAILED"),
        ({"query": INVALID}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": PAGE, "variables": {"first": "ten"}}, "BAD_USER_INPUT"),
    ],
    ids=["parse", "validation", "variable coercion"],
)
async def test_under_graphql_response_json_a_request_error_is_400_without_data(
    server: Server, world: World, body: dict[str, Any], code: str
) -> None:
    token = staff_token(server, world, "demo-agent")
    async with nothing_ran(server):
        response = await _post(server, token, body, accept=GRAPHQL_RESPONSE_JSON)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    assert "data" not in response.json()
    assert _error_codes(response) == [code]


@pytest.mark.parametrize("accept", ["application/json", None, "*/*"])
@pytest.mark.parametrize(
    ("query", "code"),
    [(UNPARSABLE, "GRAPHQL_PARSE_FAILED"), (INVALID, "GRAPHQL_VALIDATION_FAILED")],
)
async def test_under_application_json_a_request_error_stays_200_with_null_data(
    server: Server, world: World, accept: str | None, query: str, code: str
) -> None:
    token = staff_token(server, world, "demo-agent")
    response = await _post(server, token, {"query": query}, accept=accept)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["data"] is None
    assert _error_codes(response) == [code]


async def test_under_graphql_response_json_a_field_error_keeps_its_data_and_200(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")  # branch A: Bob, in branch B, is not found
    body = {
        "query": TIERS_AND_CUSTOMER,
        "variables": {"id": to_global_id("Customer", world.bob.id)},
    }
    response = await _post(server, token, body, accept=GRAPHQL_RESPONSE_JSON)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    body = response.json()
    assert body["data"]["tiers"]
    assert body["data"]["customer"] is None
    assert _error_codes(response) == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8, application/json", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON}", "application/json"),
        (f"application/json;q=0.9, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0, application/json", "application/json"),
        ("text/html", "application/json"),
    ],
)
def test_the_response_takes_the_acceptable_media_type_the_client_ranks_highest(
    accept: str | None, media_type: str
) -> None:
    assert response_media_type(accept) == media_type


# --- subscriptions stay on the WebSocket ----------------------------------------------------


async def test_a_subscription_sent_by_post_is_400_bad_user_input_before_anything_runs(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    async with nothing_ran(server):
        response = await _post(server, token, {"query": SUBSCRIPTION, "operationName": "Mine"})

    assert response.status_code == 400, response.text
    assert _error_codes(response) == ["BAD_USER_INPUT"]
    assert "WebSocket" in response.json()["errors"][0]["message"]


async def test_a_subscription_sent_by_get_is_400_bad_user_input(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    response = await server.client.get(
        "/graphql", params={"query": SUBSCRIPTION}, headers=_headers(token)
    )

    assert response.status_code == 400, response.text
    assert _error_codes(response) == ["BAD_USER_INPUT"]


# --- a document of several operations names the one to run --------------------------------

SEVERAL_OPERATIONS = [
    "query First { tiers { code } } query Second { __typename }",
    "subscription Mine { assignedToMe { id } } query Second { __typename }",
    "query First { __typename } subscription Mine { assignedToMe { id } }",
]


@pytest.mark.parametrize("query", SEVERAL_OPERATIONS)
async def test_several_operations_without_an_operation_name_is_400_and_none_runs(
    server: Server, world: World, query: str
) -> None:
    token = staff_token(server, world, "demo-agent")
    async with nothing_ran(server):
        response = await _post(server, token, {"query": query}, accept=GRAPHQL_RESPONSE_JSON)

    assert response.status_code == 400, response.text
    assert "data" not in response.json()
    assert _error_codes(response) == ["BAD_USER_INPUT"]
    assert "operationName" in response.json()["errors"][0]["message"]


async def test_several_operations_with_an_operation_name_run_the_named_one(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    body = {"query": SEVERAL_OPERATIONS[0], "operationName": "Second"}
    response = await _post(server, token, body)

    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


# --- methods and paths the routes do not take --------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_another_method_on_graphql_is_405_with_a_code_and_allow(
    server: Server, world: World, method: str
) -> None:
    token = staff_token(server, world, "demo-agent")
    response = await server.client.request(method, "/graphql", headers=_headers(token))

    assert response.status_code == 405, response.text
    assert _error_codes(response) == ["BAD_USER_INPUT"]
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}


async def test_head_on_graphql_is_405_allowing_get_and_post(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-agent")
    response = await server.client.head("/graphql", headers=_headers(token))

    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}


async def test_an_unknown_path_is_404_not_found_with_a_code(server: Server) -> None:
    response = await server.client.get("/graphql/v2")

    assert response.status_code == 404, response.text
    assert _error_codes(response) == ["NOT_FOUND"]


# --- headers ----------------------------------------------------------------------------------


async def test_an_authenticated_get_is_private_and_varies_by_authorization(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    response = await server.client.get("/graphql", params={"query": TIERS}, headers=_headers(token))

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["vary"] == "Authorization"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic ZGVtbzpkZW1v"}, {"Authorization": "Bearer"}]
)
async def test_a_request_without_a_bearer_token_is_challenged_without_an_error_code(
    server: Server, headers: dict[str, str]
) -> None:
    response = await server.client.post("/graphql", json={"query": TIERS}, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert _error_codes(response) == ["UNAUTHENTICATED"]


async def test_a_request_with_a_bad_token_is_told_invalid_token(server: Server) -> None:
    response = await server.client.post(
        "/graphql", json={"query": TIERS}, headers={"Authorization": "Bearer not-a-jwt"}
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
