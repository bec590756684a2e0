"""``customersByName(name, phoneLast4 | cardLast4)`` (issue 12 item 5): the service desk finds
a caller by the exact full name, through a blind index of the normalised name, narrowed by
the last four digits the caller reads out; within the caller's scope, counted and audited as
a lookup under the exact-match lookups' budget (issue 11 item 1)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from core.identity import Role
from models.audit.audit import AuditEntry
from models.customers.customer import Customer
from models.organisation.organisation import StaffUser
from resolvers.customers.lookups import index_names
from tests.conftest import Server
from tests.support import World, add_staff

BY_NAME = """
query ByName($name: String!, $phone: String, $card: String) {
  customersByName(name: $name, phoneLast4: $phone, cardLast4: $card, reason: INBOUND_CALL) {
    id name
  }
}
"""
BRANCH = {"supervisor": "BJ-CY", "agent": "BJ-CY"}


def _global_id(kind: str, raw: object) -> str:
    return base64.b64encode(f"{kind}:{raw}".encode()).decode()


async def _caller(server: Server, world: World, role: str) -> tuple[StaffUser, str]:
    user = await add_staff(server.state, world, role=role, branch=BRANCH.get(role))
    token = server.state.tokens.issue(
        subject=str(user.id),
        role=Role(role),
        client_id="cardcrm-console",
        branch_id=user.branch_id,
        username=user.username,
    )
    return user, token


async def _outcomes(server: Server, user: StaffUser) -> list[tuple[str, str]]:
    async with server.state.database.session() as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(col(AuditEntry.actor_id) == str(user.id))
            .order_by(col(AuditEntry.seq))
        )
        return [(row.action, row.details["outcome"]) for row in rows]


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.mark.parametrize(
    ("variables", "found"),
    [
        pytest.param({"name": "张三丰", "phone": "5678"}, True, id="name-and-phone-last4"),
        pytest.param({"name": " 张三丰 ", "card": "5671"}, True, id="name-and-card-last4"),
        pytest.param({"name": "张三丰", "phone": "0000"}, False, id="wrong-phone-last4"),
        pytest.param({"name": "张三", "card": "5671"}, False, id="not-the-full-name"),
    ],
)
async def test_given_an_agent_then_a_caller_is_found_by_full_name_and_last4_and_audited(
    server: Server, world: World, variables: dict[str, str], found: bool
) -> None:
    agent, token = await _caller(server, world, "agent")

    body = await server.graphql(BY_NAME, variables, token=token)

    assert "errors" not in body, body
    expected = [{"id": _global_id("Customer", world.alice.id), "name": "张*丰"}] if found else []
    assert body["data"]["customersByName"] == expected
    assert await _outcomes(server, agent) == [("customer.lookup", "hit" if found else "miss")]


async def test_given_an_agent_then_a_namesake_in_another_branch_is_not_found(
    server: Server, world: World
) -> None:
    agent, token = await _caller(server, world, "agent")  # BJ-CY; Bob (李四) is in SH-PD

    body = await server.graphql(BY_NAME, {"name": "李四", "card": "5675"}, token=token)

    assert body["data"]["customersByName"] == []
    assert await _outcomes(server, agent) == [("customer.lookup", "miss")]


@pytest.mark.parametrize("role", ["marketer", "risk_officer", "auditor"])
async def test_given_a_role_without_the_lookup_then_it_is_forbidden_and_audited(
    server: Server, world: World, role: str
) -> None:
    caller, token = await _caller(server, world, role)

    body = await server.graphql(BY_NAME, {"name": "张三丰", "phone": "5678"}, token=token)

    assert _codes(body) == ["FORBIDDEN"]
    assert await _outcomes(server, caller) == [("customer.lookup.refused", "forbidden")]


@pytest.mark.parametrize(
    "variables",
    [
        {"name": "张三丰"},
        {"name": "张三丰", "phone": "5678", "card": "5671"},
        {"name": "张三丰", "phone": "56a8"},
    ],
    ids=["neither", "both", "not-digits"],
)
async def test_given_not_exactly_one_last4_then_it_is_bad_user_input_and_no_lookup(
    server: Server, world: World, variables: dict[str, str]
) -> None:
    supervisor, token = await _caller(server, world, "supervisor")

    body = await server.graphql(BY_NAME, variables, token=token)

    assert _codes(body) == ["BAD_USER_INPUT"]
    assert "Last4" in body["errors"][0]["message"]
    assert await _outcomes(server, supervisor) == []


async def test_given_the_lookup_budget_is_spent_then_a_name_lookup_is_rate_limited(
    server: Server, world: World
) -> None:
    supervisor, token = await _caller(server, world, "supervisor")
    for n in range(server.state.settings.lookup_limit_per_hour):
        await server.graphql(
            "query($p: String!) { customerByPhone(phone: $p, reason: INBOUND_CALL) { id } }",
            {"p": f"1370000{n:04d}"},
            token=token,
        )

    body = await server.graphql(BY_NAME, {"name": "张三丰", "phone": "5678"}, token=token)

    assert _codes(body) == ["RATE_LIMITED"]
    assert (await _outcomes(server, supervisor))[-1] == ("customer.lookup.refused", "rate_limited")


async def test_given_customers_sealed_before_the_name_index_then_index_names_makes_them_findable(
    server: Server, world: World
) -> None:
    # given: Alice as a customer created before migration 0005 left her (no name index)
    async with server.state.database.session() as session:
        await session.execute(
            update(Customer).where(col(Customer.id) == world.alice.id).values(name_bidx=None)
        )
        await session.commit()
    _, token = await _caller(server, world, "supervisor")
    before = await server.graphql(BY_NAME, {"name": "张三丰", "card": "5671"}, token=token)

    # when the names are indexed (`cardcrm customers index-names`)
    async with server.state.database.session() as session:
        indexed = await index_names(session, server.state.key_ring, batch_size=2)
    after = await server.graphql(BY_NAME, {"name": "张三丰", "card": "5671"}, token=token)

    # then she is found again
    assert before["data"]["customersByName"] == []
    assert indexed >= 1
    assert [c["id"] for c in after["data"]["customersByName"]] == [
        _global_id("Customer", world.alice.id)
    ]
