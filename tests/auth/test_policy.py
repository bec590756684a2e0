"""The role × sensitive-field matrix (issue 2, SPEC §2), read over HTTP for alice.

The expected table is written out here, independently of ``auth.policy``: a wrong edit of
the policy table must fail these tests, not silently move both sides together.
"""

from __future__ import annotations

import base64
import re
import uuid
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLObjectType, build_schema

from auth.scopes import ROLE_SCOPES
from core.identity import Role, Scope
from models.customers.customer import Customer as CustomerRow
from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF as DEMO_USER
from tests.support import World, add_oauth_client, client_credentials_token

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


class Sees(StrEnum):
    """What a caller gets for a field, in the words of issue 2's table."""

    CLEAR = "clear"
    MASKED = "masked"
    BIN_LAST4 = "BIN + last 4"
    LAST4 = "last 4"
    DENIED = "denied"


ROLES = ("admin", "supervisor", "agent", "marketer", "risk_officer", "auditor", "customer")

C, M, D = Sees.CLEAR, Sees.MASKED, Sees.DENIED
B4, L4 = Sees.BIN_LAST4, Sees.LAST4
# Issue 2, copied by hand: role order admin, supervisor, agent, marketer, risk_officer,
# auditor, customer (self).
ISSUE_2_TABLE: dict[str, tuple[Sees, ...]] = {
    "name": (M, M, M, M, M, M, C),
    "phone": (M, M, M, M, M, M, C),
    "email": (M, M, M, M, M, M, C),
    "idNumber": (M, M, M, D, M, M, M),
    "address": (M, M, M, D, M, M, C),
    "birthDate": (M, M, M, M, M, M, C),
    "pan": (B4, B4, L4, D, B4, L4, L4),
    "creditLimit": (C, C, C, D, C, C, C),
    "riskGrade": (C, C, D, D, C, C, D),
    "creditScore": (C, C, D, D, C, C, D),
}
CARD_FIELDS = frozenset({"pan", "creditLimit"})

# Alice's clear values (tests/support.py ALICE) and their SPEC §2 display forms.
CLEAR_VALUES: dict[str, str] = {
    "name": "张三丰",
    "phone": "13812345678",
    "email": "zhangsan@example.com",
    "idNumber": "110101199003071233",
    "address": "北京市朝阳区建国路88号",
    "birthDate": "1990-03-07",
    "pan": "6228480012345671",
}
DISPLAYED: dict[tuple[str, Sees], str] = {
    ("name", M): "张*丰",
    ("phone", M): "138****5678",
    ("email", M): "z*******@example.com",
    ("idNumber", M): "110***********1233",
    ("address", M): "北京市朝阳区******",
    ("birthDate", M): "1990-**-**",
    ("pan", B4): "622848******5671",
    ("pan", L4): "************5671",
}

ALL_PII = [
    "ADDRESS",
    "BIRTH_DATE",
    "CUSTOMER_NUMBER",
    "EMAIL",
    "ID_NUMBER",
    "NAME",
    "PAN",
    "PHONE",
]
REVEALABLE_BY_ROLE: dict[str, list[str]] = {
    "admin": ALL_PII,
    "supervisor": ALL_PII,
    "agent": ["PHONE"],
    "marketer": [],
    "risk_officer": [],
    "auditor": [],
    "customer": [],
}

C2_FIELDS = {
    "Customer": ("name", "phone", "email", "idNumber", "address", "birthDate"),
    "Card": ("pan",),
}
C1_FIELDS = {"Customer": ("riskGrade", "creditScore"), "Card": ("creditLimit",)}


def _global_id(kind: str, raw: object) -> str:
    return base64.b64encode(f"{kind}:{raw}".encode()).decode()


def _query_for(field: str) -> str:
    selection = f"cards {{ id {field} }}" if field in CARD_FIELDS else field
    return f"query One($id: ID!) {{ customer(id: $id) {{ id {selection} }} }}"


def _token_for(server: Server, world: World, role: str) -> str:
    if role == "customer":
        return customer_token(server, world.alice.id)
    return staff_token(server, world, DEMO_USER[role])


async def _alice_row(server: Server, customer_id: uuid.UUID) -> CustomerRow:
    async with server.state.database.session() as session:
        row = await session.get(CustomerRow, customer_id)
        assert row is not None
        return row


def _matrix() -> list[Any]:
    return [
        pytest.param(role, field, sees[index], id=f"{role}-{field}-{sees[index].name}")
        for field, sees in ISSUE_2_TABLE.items()
        for index, role in enumerate(ROLES)
    ]


def _value_of(customer: dict[str, Any], field: str) -> Any:
    if field in CARD_FIELDS:
        (card,) = customer["cards"]
        return card[field]
    return customer[field]


def _expected_path(field: str) -> list[Any]:
    return ["customer", "cards", 0, field] if field in CARD_FIELDS else ["customer", field]


async def _expected_clear(server: Server, world: World, field: str) -> Any:
    if field in CLEAR_VALUES:
        return CLEAR_VALUES[field]
    row = await _alice_row(server, world.alice.id)
    if field == "riskGrade":
        return row.risk_grade
    if field == "creditScore":
        return row.credit_score
    raise AssertionError(f"no clear value known for {field}")


@pytest.mark.parametrize(("role", "field", "sees"), _matrix())
async def test_given_a_role_when_it_reads_alices_sensitive_field_then_it_sees_what_issue_2_says(
    server: Server, world: World, role: str, field: str, sees: Sees
) -> None:
    alice_id = _global_id("Customer", world.alice.id)
    body = await server.graphql(
        _query_for(field), {"id": alice_id}, token=_token_for(server, world, role)
    )
    customer = body["data"]["customer"]
    assert customer is not None, body
    assert customer["id"] == alice_id  # the rest of the response always arrives
    value = _value_of(customer, field)

    if sees is Sees.DENIED:
        assert value is None, body
        forbidden = [
            error
            for error in body.get("errors", [])
            if error["extensions"]["code"] == "FORBIDDEN" and error["path"] == _expected_path(field)
        ]
        assert len(forbidden) == 1, body
        return

    assert "errors" not in body, body
    if field == "creditLimit":
        assert Decimal(value) == Decimal(50000)
    elif sees is Sees.CLEAR:
        assert value == await _expected_clear(server, world, field)
    else:
        assert value == DISPLAYED[(field, sees)]
        assert CLEAR_VALUES[field] not in value


async def test_alices_c1_risk_values_are_really_in_the_row(server: Server, world: World) -> None:
    """Guards the matrix: the CLEAR risk values compared against are real, typed values."""
    row = await _alice_row(server, world.alice.id)
    assert row.risk_grade in {"A", "B", "C", "D", "E"}
    assert isinstance(row.credit_score, int)


async def test_given_an_admin_token_without_risk_read_then_risk_fields_are_denied(
    server: Server, world: World
) -> None:
    token = staff_token(
        server, world, "demo-admin", scopes=ROLE_SCOPES[Role.ADMIN] - {Scope.RISK_READ}
    )
    alice_id = _global_id("Customer", world.alice.id)
    body = await server.graphql(
        "query One($id: ID!) { customer(id: $id) { id name riskGrade creditScore } }",
        {"id": alice_id},
        token=token,
    )
    customer = body["data"]["customer"]
    assert customer == {"id": alice_id, "name": "张*丰", "riskGrade": None, "creditScore": None}
    denied = {
        tuple(error["path"])
        for error in body["errors"]
        if error["extensions"]["code"] == "FORBIDDEN"
    }
    assert denied == {("customer", "riskGrade"), ("customer", "creditScore")}


async def test_given_the_full_admin_token_then_the_same_risk_fields_are_clear(
    server: Server, world: World
) -> None:
    row = await _alice_row(server, world.alice.id)
    body = await server.graphql(
        "query One($id: ID!) { customer(id: $id) { riskGrade creditScore } }",
        {"id": _global_id("Customer", world.alice.id)},
        token=staff_token(server, world, "demo-admin"),
    )
    assert "errors" not in body, body
    assert body["data"]["customer"] == {
        "riskGrade": row.risk_grade,
        "creditScore": row.credit_score,
    }


@pytest.mark.parametrize(
    ("role", "fields"), list(REVEALABLE_BY_ROLE.items()), ids=list(REVEALABLE_BY_ROLE)
)
async def test_given_a_role_then_revealable_fields_lists_what_it_may_reveal(
    server: Server, world: World, role: str, fields: list[str]
) -> None:
    body = await server.graphql(
        "query One($id: ID!) { customer(id: $id) { revealableFields } }",
        {"id": _global_id("Customer", world.alice.id)},
        token=_token_for(server, world, role),
    )
    assert "errors" not in body, body
    revealable = body["data"]["customer"]["revealableFields"]
    assert sorted(revealable) == fields
    assert len(revealable) == len(set(revealable))


async def test_given_a_supervisor_token_without_pii_reveal_then_nothing_is_revealable(
    server: Server, world: World
) -> None:
    token = staff_token(
        server,
        world,
        "demo-supervisor",
        scopes=ROLE_SCOPES[Role.SUPERVISOR] - {Scope.PII_REVEAL},
    )
    body = await server.graphql(
        "query One($id: ID!) { customer(id: $id) { revealableFields } }",
        {"id": _global_id("Customer", world.alice.id)},
        token=token,
    )
    assert body["data"]["customer"]["revealableFields"] == []


async def test_given_a_merchant_token_then_it_reaches_no_customer(
    server: Server, world: World
) -> None:
    # A client token is valid only while its client exists and is active (auth.revocation).
    credentials = await add_oauth_client(
        server.state, scopes="offers:read offers:redeem", merchant="policy-test merchant"
    )
    token = await client_credentials_token(server.client, credentials)
    alice_id = _global_id("Customer", world.alice.id)

    one = await server.graphql(
        "query One($id: ID!) { customer(id: $id) { id name phone } }", {"id": alice_id}, token=token
    )
    assert one["data"]["customer"] is None
    assert [error["extensions"]["code"] for error in one["errors"]] == ["FORBIDDEN"]

    node = await server.graphql(
        "query N($id: ID!) { node(id: $id) { id } }", {"id": alice_id}, token=token
    )
    assert node["data"]["node"] is None
    assert [error["extensions"]["code"] for error in node["errors"]] == ["NOT_FOUND"]

    # A list of customers needs customers:list, which a merchant never holds.
    page = await server.graphql(
        "{ customers(first: 50) { totalCount edges { node { id } } } }", token=token
    )
    assert page["data"] == {"customers": None}
    assert [error["extensions"]["code"] for error in page["errors"]] == ["FORBIDDEN"]

    # A lookup is a disclosure a merchant may never make (issue 11): refused, not searched.
    by_phone = await server.graphql(
        'query { customerByPhone(phone: "13812345678", reason: INBOUND_CALL) { id } }',
        token=token,
    )
    assert by_phone["data"]["customerByPhone"] is None
    assert [error["extensions"]["code"] for error in by_phone["errors"]] == ["FORBIDDEN"]


def _sdl_description(type_name: str, field: str) -> str:
    schema = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    graphql_type = schema.get_type(type_name)
    assert isinstance(graphql_type, GraphQLObjectType)
    description = graphql_type.fields[field].description
    assert description, f"{type_name}.{field} has no SDL description"
    return str(description)


@pytest.mark.parametrize(
    ("type_name", "field", "data_class"),
    [(t, f, "C2") for t, fields in C2_FIELDS.items() for f in fields]
    + [(t, f, "C1") for t, fields in C1_FIELDS.items() for f in fields],
)
def test_each_sensitive_fields_sdl_description_names_its_class(
    type_name: str, field: str, data_class: str
) -> None:
    description = _sdl_description(type_name, field)
    classes = set(re.findall(r"\bC[123]\b", description))
    assert classes == {data_class}, description
