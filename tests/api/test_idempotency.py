"""A retried mutation with the same Idempotency-Key returns the first result, once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.conftest import Server, staff_token
from tests.support import World, customer_count

CREATE = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id version } userErrors { field code message } }
}
"""


def _input(id_number_seq: str, phone: str) -> dict[str, Any]:
    from models.customers.identifiers import national_id_check_char

    first17 = "11010519880808" + id_number_seq
    return {
        "input": {
            "name": "赵六",
            "birthDate": "1988-08-08",
            "idNumber": first17 + national_id_check_char(first17),
            "phone": phone,
        }
    }


async def _create(server: Server, token: str, key: str, variables: dict[str, Any]) -> Any:
    return await server.post(CREATE, variables, token=token, headers={"Idempotency-Key": key})


async def test_replaying_a_key_returns_the_first_response_and_creates_nothing_twice(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    key = uuid.uuid4().hex
    before = await customer_count(server.state)
    first = await _create(server, token, key, _input("123", "13600001234"))
    again = await _create(server, token, key, _input("123", "13600001234"))
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["data"]["createCustomer"]["userErrors"] == []
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await customer_count(server.state) == before + 1


async def test_the_same_key_with_a_different_request_is_refused(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    key = uuid.uuid4().hex
    await _create(server, token, key, _input("124", "13600001235"))
    other = await _create(server, token, key, _input("125", "13600001236"))
    assert other.status_code == 409
    assert other.json()["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_concurrent_requests_with_one_key_create_one_customer(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    key = uuid.uuid4().hex
    before = await customer_count(server.state)
    responses = await asyncio.gather(
        *(_create(server, token, key, _input("126", "13600001237")) for _ in range(5))
    )
    assert {r.status_code for r in responses} <= {200, 409}
    assert await customer_count(server.state) == before + 1


async def test_keys_are_per_caller(server: Server, world: World) -> None:
    key = uuid.uuid4().hex
    agent = await _create(
        server, staff_token(server, world, "demo-agent"), key, _input("127", "13600001238")
    )
    supervisor = await _create(
        server, staff_token(server, world, "demo-supervisor"), key, _input("128", "13600001239")
    )
    assert agent.status_code == supervisor.status_code == 200
    assert "Idempotent-Replayed" not in supervisor.headers


async def test_queries_ignore_the_header(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-agent")
    response = await server.post(
        "{ tiers { code } }", token=token, headers={"Idempotency-Key": "same"}
    )
    again = await server.post(
        "{ viewer { role } }", token=token, headers={"Idempotency-Key": "same"}
    )
    assert response.status_code == again.status_code == 200


async def test_the_stored_first_response_is_sealed_not_kept_in_clear(
    server: Server, world: World
) -> None:
    from sqlalchemy import select

    from models.idempotency import IdempotencyRecord

    token = staff_token(server, world, "demo-agent")
    key = uuid.uuid4().hex
    first = await _create(server, token, key, _input("131", "13600001241"))
    customer_id = first.json()["data"]["createCustomer"]["customer"]["id"]
    async with server.state.database.session() as session:
        stored = await session.scalar(
            select(IdempotencyRecord.response).where(IdempotencyRecord.key == key)
        )
    assert set(stored) == {"status", "sealed"}
    assert customer_id not in str(stored)
    assert "createCustomer" not in str(stored)
    again = await _create(server, token, key, _input("131", "13600001241"))
    assert again.json() == first.json()


async def test_variables_nested_deeper_than_can_be_keyed_are_bad_user_input(
    server: Server, world: World
) -> None:
    """orjson reads 1,024 levels but writes 254: hashing such a request was a 500."""
    token = staff_token(server, world, "demo-agent")
    depth = 300
    nested = '{"a":' * depth + "1" + "}" * depth
    body = '{"query": "mutation { __typename }", "variables": {"x": ' + nested + "}}"
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    response = await server.client.post("/graphql", content=body, headers=headers)

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
