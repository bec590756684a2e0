"""Customer reads and writes through the real HTTP stack."""

from __future__ import annotations

from typing import Any

from tests.conftest import Server, customer_token, staff_token
from tests.support import World

CUSTOMER_PAGE = """
query Page($first: Int, $after: String) {
  customers(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name phone idNumber tier { code name } branch { code }
      cards { id pan last4 creditLimit } } }
  }
}
"""
ONE_CUSTOMER = "query One($id: ID!) { customer(id: $id) { id name phone } }"


def _global_id(kind: str, raw: object) -> str:
    import base64

    return base64.b64encode(f"{kind}:{raw}".encode()).decode()


async def test_agent_pages_through_only_their_branch(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-agent")
    seen: list[str] = []
    after = None
    while True:
        body = await server.graphql(CUSTOMER_PAGE, {"first": 7, "after": after}, token=token)
        assert "errors" not in body, body
        connection = body["data"]["customers"]
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        assert {edge["node"]["branch"]["code"] for edge in connection["edges"]} <= {"BJ-CY"}
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == connection["totalCount"]
    assert _global_id("Customer", world.alice.id) in seen
    assert _global_id("Customer", world.bob.id) not in seen


async def test_a_page_of_customers_costs_the_same_statements_whatever_its_size(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    await server.graphql(CUSTOMER_PAGE, {"first": 1}, token=token)  # the tier catalogue, fresh
    counts = []
    for size in (2, 10, 30):
        body, statements = await server.count_statements(
            CUSTOMER_PAGE, {"first": size}, token=token
        )
        assert "errors" not in body
        assert len(body["data"]["customers"]["edges"]) == size
        counts.append(statements)
    # page + count + cards + branches, each one statement whatever the page size; the tiers
    # come from the process's catalogue (resolvers/growth/tier_catalogue.py)
    assert counts == [4, 4, 4]


async def test_customer_outside_the_agents_branch_is_not_found(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    body = await server.graphql(
        ONE_CUSTOMER, {"id": _global_id("Customer", world.bob.id)}, token=token
    )
    assert body["data"]["customer"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_customer_sees_only_themself(server: Server, world: World) -> None:
    token = customer_token(server, world.alice.id)
    me = await server.graphql("{ me { id name phone } }", token=token)
    assert me["data"]["me"] == {
        "id": _global_id("Customer", world.alice.id),
        "name": "张三丰",
        "phone": "13812345678",
    }
    other = await server.graphql(
        ONE_CUSTOMER, {"id": _global_id("Customer", world.bob.id)}, token=token
    )
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    page = await server.graphql("{ customers { totalCount edges { node { id } } } }", token=token)
    assert page["data"]["customers"]["totalCount"] == 1


async def test_lookup_by_phone_and_id_number_uses_the_blind_index(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-supervisor")
    by_phone = await server.graphql(
        'query { customerByPhone(phone: "+86 138-1234-5678", reason: INBOUND_CALL) { id phone } }',
        token=token,
    )
    assert by_phone["data"]["customerByPhone"] == {
        "id": _global_id("Customer", world.alice.id),
        "phone": "138****5678",
    }
    by_id = await server.graphql(
        'query { customerByIdNumber(idNumber: "110101199003071233", reason: BRANCH_VISIT) { id } }',
        token=token,
    )
    assert by_id["data"]["customerByIdNumber"]["id"] == _global_id("Customer", world.alice.id)


async def test_lookup_of_an_invalid_phone_is_bad_user_input(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-supervisor")
    body = await server.graphql(
        'query { customerByPhone(phone: "12345", reason: INBOUND_CALL) { id } }', token=token
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


CREATE = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer { id name phone version cards { pan last4 } branch { code } }
    userErrors { field code message }
  }
}
"""
UPDATE = """
mutation Update($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    customer { id email version }
    userErrors { field code message }
  }
}
"""

REVEAL_EMAIL = """
mutation($id: ID!) {
  revealCustomerPii(input: {customerId: $id, fields: [EMAIL],
                            purpose: "verifying the changed e-mail address for ticket 42"}) {
    values { value }
    userErrors { code }
  }
}
"""


def _new_customer(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "王五",
        "birthDate": "1992-05-20",
        "idNumber": "110105199205200019",
        "phone": "13700001111",
        "email": "wangwu@example.com",
        "address": "北京市朝阳区光华路1号",
        "cards": [
            {"pan": "6228480000000007", "product": "UnionPay Classic", "creditLimit": "30000.00"}
        ],
    }
    data.update(overrides)
    return data


async def _valid_id_number() -> str:
    from models.customers.identifiers import national_id_check_char

    first17 = "11010519920520002"
    return first17 + national_id_check_char(first17)


async def test_agent_creates_and_updates_a_customer_in_their_branch(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    id_number = await _valid_id_number()
    created = await server.graphql(
        CREATE, {"input": _new_customer(idNumber=id_number)}, token=token
    )
    payload = created["data"]["createCustomer"]
    assert payload["userErrors"] == []
    customer = payload["customer"]
    assert customer["branch"]["code"] == "BJ-CY"
    assert customer["phone"] == "137****1111"
    assert customer["cards"] == [{"pan": "************0007", "last4": "0007"}]
    assert customer["version"] == 1

    updated = await server.graphql(
        UPDATE,
        {"input": {"id": customer["id"], "version": 1, "email": "new@example.com"}},
        token=token,
    )
    assert updated["data"]["updateCustomer"]["userErrors"] == []
    assert updated["data"]["updateCustomer"]["customer"]["version"] == 2

    stale = await server.graphql(
        UPDATE,
        {"input": {"id": customer["id"], "version": 1, "email": "lost@example.com"}},
        token=token,
    )
    assert stale["data"]["updateCustomer"]["customer"] is None
    assert stale["data"]["updateCustomer"]["userErrors"][0]["code"] == "CONFLICT"
    reveal = await server.graphql(
        REVEAL_EMAIL,
        {"id": customer["id"]},
        token=staff_token(server, world, "demo-supervisor"),
    )
    assert reveal["data"]["revealCustomerPii"]["values"] == [{"value": "new@example.com"}]


async def test_invalid_identifiers_are_refused_and_nothing_is_written(
    server: Server, world: World
) -> None:
    from tests.support import customer_count

    token = staff_token(server, world, "demo-agent")
    before = await customer_count(server.state)
    bad_inputs = {
        "idNumber": _new_customer(idNumber="110105199205200011"),  # wrong check digit
        "cards[0].pan": _new_customer(
            cards=[{"pan": "6228480000000001", "product": "X", "creditLimit": "1"}]
        ),
        "phone": _new_customer(phone="1234"),
    }
    for field, data in bad_inputs.items():
        body = await server.graphql(CREATE, {"input": data}, token=token)
        errors = body["data"]["createCustomer"]["userErrors"]
        assert errors, body
        assert (errors[0]["code"], errors[0]["field"]) == ("BAD_USER_INPUT", field)
    assert await customer_count(server.state) == before


async def test_marketer_cannot_create_customers(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-marketer")
    body = await server.graphql(CREATE, {"input": _new_customer()}, token=token)
    assert body["data"]["createCustomer"]["userErrors"][0]["code"] == "FORBIDDEN"


async def test_tiers_are_listed_by_rank(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-agent")
    body = await server.graphql("{ tiers { code rank } }", token=token)
    assert [t["code"] for t in body["data"]["tiers"]] == [
        "STANDARD",
        "SILVER",
        "GOLD",
        "PLATINUM",
        "DIAMOND",
    ]


async def test_node_resolves_a_customer_in_scope_only(server: Server, world: World) -> None:
    query = "query($id: ID!) { node(id: $id) { id ... on Customer { phone } } }"
    agent = staff_token(server, world, "demo-agent")
    mine = await server.graphql(query, {"id": _global_id("Customer", world.alice.id)}, token=agent)
    assert mine["data"]["node"]["phone"] == "138****5678"
    theirs = await server.graphql(query, {"id": _global_id("Customer", world.bob.id)}, token=agent)
    assert theirs["errors"][0]["extensions"]["code"] == "NOT_FOUND"
