"""Reading transactions over HTTP: ``Customer.transactions`` and ``Card.transactions``.

Given customers of their own (branch A and branch B) whose purchases are imported through the
real ``ingestTransactions`` mutation, each role reads what its row scope and the policy rows
let it; the filters narrow by time, amount and category; keyset pages are stable; a page of
customers loads its transactions in a constant number of statements.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

import pytest
from graphql import get_operation_ast, parse

from api.admission.cost import operation_cost
from api.graphql_schema import schema
from auth.policy import Access, rule_for
from core.identity import Role, Scope
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.schema.transactions.test_transaction import ingest, new_card, service_token
from tests.support import DEMO_STAFF, World, add_oauth_client, staff_principal

FIELDS = "id amount currency merchantName merchantCategory channel occurredAt card { id last4 }"
CUSTOMER = f"""
query One($id: ID!, $first: Int, $after: String, $filter: TransactionFilter) {{
  customer(id: $id) {{
    transactions(first: $first, after: $after, filter: $filter) {{
      totalCount
      pageInfo {{ hasNextPage hasPreviousPage endCursor }}
      edges {{ cursor node {{ {FIELDS} }} }}
    }}
  }}
}}
"""
CARD = """
query Card($id: ID!, $first: Int, $after: String) {
  node(id: $id) {
    ... on Card {
      transactions(first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id amount } }
      }
    }
  }
}
"""
ME = f"{{ me {{ transactions(first: 20) {{ totalCount edges {{ node {{ {FIELDS} }} }} }} }} }}"
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Transaction {{ {FIELDS} }} }} }}"
PAGE = """
query Page($first: Int) {
  customers(first: $first) {
    edges { node { id transactions(first: 5) {
      totalCount edges { node { amount merchantName card { last4 } } }
    } } }
  }
}
"""
# (amount, merchant, category, time): newest first is the reverse of this order, except the
# two at 12:00, which tie on time and come in id order.
PURCHASES = [
    ("35.50", "街角咖啡", "dining", "2025-09-01T08:15:00+08:00"),
    ("2999.00", "京东电器", "electronics", "2025-09-10T20:00:00+08:00"),
    ("128.00", "海底捞火锅", "dining", "2025-09-20T19:30:00+08:00"),
    ("860.00", "携程旅行", "travel", "2025-10-01T12:00:00+08:00"),
    ("66.60", "全家便利店", "grocery", "2025-10-01T12:00:00+08:00"),
    ("300.00", "中石化", "fuel", "2025-10-05T09:00:00+08:00"),
]


@dataclass(frozen=True)
class Holder:
    customer_id: uuid.UUID
    card_id: uuid.UUID

    @property
    def gid(self) -> str:
        return to_global_id("Customer", self.customer_id)

    @property
    def card(self) -> str:
        return to_global_id("Card", self.card_id)


@dataclass(frozen=True)
class Books:
    a: Holder  # branch A (demo-agent's)
    b: Holder  # branch B
    feed: str


def purchase(card_id: uuid.UUID, amount: str, merchant: str, category: str, time: str) -> Any:
    return {
        "cardId": to_global_id("Card", card_id),
        "amount": amount,
        "merchant": merchant,
        "merchantCategory": category,
        "channel": "pos",
        "time": time,
        "reference": f"R-{uuid.uuid4().hex[:12]}",
    }


async def holder(server: Server, world: World, feed: str, branch: str) -> Holder:
    card_id, _, customer_id = await new_card(server, world)
    if branch != "BJ-CY":  # new_card's customer is in branch A; move this one to B
        from sqlalchemy import update

        from models.customers.customer import Customer

        async with server.state.database.session() as session:
            await session.execute(
                update(Customer)
                .where(Customer.id == customer_id)  # type: ignore[arg-type]
                .values(branch_id=world.branches[branch].id)
            )
            await session.commit()
    rows = [purchase(card_id, *p) for p in PURCHASES]
    payload = await ingest(server, service_token(server, feed), rows)
    assert payload["imported"] == len(PURCHASES), payload
    return Holder(customer_id, card_id)


@pytest.fixture(scope="module")
async def books(server: Server, world: World) -> Books:
    credentials = await add_oauth_client(server.state, scopes="transactions:write", name="reading")
    feed = credentials.client.client_id
    return Books(
        await holder(server, world, feed, "BJ-CY"),
        await holder(server, world, feed, "SH-PD"),
        feed,
    )


def token_for(server: Server, world: World, role: str) -> str:
    return staff_token(server, world, DEMO_STAFF[role])


async def page_of(
    server: Server, token: str, who: Holder, **variables: Any
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    body = await server.graphql(CUSTOMER, {"id": who.gid, **variables}, token=token)
    connection = (body.get("data") or {}).get("customer") or {}
    return connection.get("transactions"), body.get("errors", [])


# Policy per role ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "supervisor", "agent", "risk_officer", "auditor"])
async def test_staff_who_serve_or_oversee_cards_read_amounts_and_merchants_newest_first(
    server: Server, world: World, books: Books, role: str
) -> None:
    connection, errors = await page_of(server, token_for(server, world, role), books.a, first=20)

    assert errors == []
    assert connection is not None
    nodes = [edge["node"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(PURCHASES) == len(nodes)
    assert nodes[0]["amount"] == "300.00"
    assert nodes[0]["merchantName"] == "中石化"
    assert (nodes[0]["merchantCategory"], nodes[0]["channel"]) == ("FUEL", "POS")
    assert nodes[0]["currency"] == "CNY"
    assert nodes[0]["occurredAt"].startswith("2025-10-05T01:00:00")
    assert nodes[-1]["amount"] == "35.50"
    times = [node["occurredAt"] for node in nodes]
    assert times == sorted(times, reverse=True)
    assert {node["card"]["id"] for node in nodes} == {books.a.card}
    assert all(len(node["card"]["last4"]) == 4 for node in nodes)


async def test_an_agent_of_another_branch_finds_neither_the_customer_nor_a_transaction(
    server: Server, world: World, books: Books
) -> None:
    agent = token_for(server, world, "agent")
    connection, errors = await page_of(server, agent, books.b)
    assert connection is None
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"]

    own, _ = await page_of(server, token_for(server, world, "admin"), books.b, first=1)
    assert own is not None
    foreign = own["edges"][0]["node"]["id"]
    body = await server.graphql(NODE, {"id": foreign}, token=agent)
    assert body["data"]["node"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]

    mine, _ = await page_of(server, agent, books.a, first=1)
    assert mine is not None
    body = await server.graphql(NODE, {"id": mine["edges"][0]["node"]["id"]}, token=agent)
    assert body["data"]["node"]["amount"] == "300.00"


async def test_a_marketer_is_refused_the_transactions_and_the_policy_denies_amounts(
    server: Server, world: World, books: Books
) -> None:
    """Marketers hold no `cards:read`, so the connection itself is FORBIDDEN (null there);
    the policy rows deny them the amount and merchant as well, should a token ever carry it."""
    connection, errors = await page_of(server, token_for(server, world, "marketer"), books.a)

    assert connection is None
    assert [(e["extensions"]["code"], e["path"]) for e in errors] == [
        ("FORBIDDEN", ["customer", "transactions"])
    ]
    widened = replace(staff_principal(Role.MARKETER), scopes=frozenset(Scope))
    for field in ("amount", "merchantName"):
        assert rule_for("Transaction", field).access_for(widened) is Access.DENIED


async def test_a_merchant_is_refused_and_finds_no_transaction(
    server: Server, world: World, books: Books
) -> None:
    from tests.support_offers import add_merchant, merchant_token

    token = merchant_token(server.state, await add_merchant(server.state, "读流水商户"))
    connection, errors = await page_of(server, token, books.a)
    assert connection is None
    assert {e["extensions"]["code"] for e in errors} == {"FORBIDDEN"}

    own, _ = await page_of(server, token_for(server, world, "admin"), books.a, first=1)
    assert own is not None
    body = await server.graphql(NODE, {"id": own["edges"][0]["node"]["id"]}, token=token)
    assert body["data"]["node"] is None
    for field in ("amount", "merchantName"):
        rule = rule_for("Transaction", field)
        assert rule.access.get(Role.MERCHANT, Access.DENIED) is Access.DENIED


async def test_a_customer_reads_their_own_in_the_app_and_nobody_elses(
    server: Server, world: World, books: Books
) -> None:
    token = customer_token(server, books.a.customer_id)
    body = await server.graphql(ME, token=token)
    assert "errors" not in body, body
    mine = body["data"]["me"]["transactions"]
    assert mine["totalCount"] == len(PURCHASES)
    assert mine["edges"][0]["node"]["merchantName"] == "中石化"

    other, errors = await page_of(server, token, books.b)
    assert other is None
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"]
    theirs, _ = await page_of(server, token_for(server, world, "admin"), books.b, first=1)
    assert theirs is not None
    body = await server.graphql(NODE, {"id": theirs["edges"][0]["node"]["id"]}, token=token)
    assert body["data"]["node"] is None


# Filters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter", "amounts"),
    [
        (
            {"occurredFrom": "2025-09-10T20:00:00+08:00", "occurredTo": "2025-10-01T04:00:00Z"},
            ["128.00", "2999.00"],
        ),
        ({"occurredFrom": "2025-10-01T12:00:00+08:00"}, ["300.00", "*", "*"]),
        ({"amountMin": "128", "amountMax": "860.00"}, ["300.00", "860.00", "128.00"]),
        ({"amountMax": "66.6"}, ["66.60", "35.50"]),
        ({"category": "DINING"}, ["128.00", "35.50"]),
        ({"category": "DINING", "amountMin": "100"}, ["128.00"]),
        ({"category": "ENTERTAINMENT"}, []),
    ],
)
async def test_each_filter_narrows_the_list_and_its_count(
    server: Server, world: World, books: Books, filter: dict[str, Any], amounts: list[str]
) -> None:
    connection, errors = await page_of(
        server, token_for(server, world, "agent"), books.a, first=20, filter=filter
    )
    assert errors == []
    assert connection is not None
    got = [edge["node"]["amount"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(amounts)
    if "*" in amounts:  # the two at the same instant, in id order
        assert got[0] == amounts[0]
        assert sorted(got[1:]) == ["66.60", "860.00"]
    else:
        assert got == amounts


@pytest.mark.parametrize(
    ("filter", "field"),
    [
        (
            {"occurredFrom": "2025-10-02T00:00:00Z", "occurredTo": "2025-10-01T00:00:00Z"},
            "occurredFrom",
        ),
        ({"occurredFrom": "2025-10-01T00:00:00"}, "occurredFrom"),
        ({"occurredTo": "2025-10-01T00:00:00"}, "occurredTo"),
        ({"amountMin": "500", "amountMax": "100"}, "amountMin"),
        ({"amountMin": "1.005"}, "amountMin"),
        ({"amountMax": "-1"}, "amountMax"),
        ({"amountMax": "1e100"}, "amountMax"),
    ],
)
async def test_a_bad_filter_is_bad_user_input_naming_its_field(
    server: Server, world: World, books: Books, filter: dict[str, Any], field: str
) -> None:
    connection, errors = await page_of(
        server, token_for(server, world, "agent"), books.a, filter=filter
    )
    assert connection is None
    assert [(e["extensions"]["code"], e["extensions"].get("field")) for e in errors] == [
        ("BAD_USER_INPUT", field)
    ]


async def test_a_page_size_over_the_limit_is_refused_before_anything_runs(
    server: Server, world: World, books: Books
) -> None:
    connection, errors = await page_of(
        server, token_for(server, world, "agent"), books.a, first=101
    )
    assert connection is None
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
    assert "`first` must be between 0 and 100" in errors[0]["message"]


# Keyset pages ------------------------------------------------------------------------------


async def walk(server: Server, token: str, query: str, key: str, gid: str, size: int) -> list[str]:
    """Every id, page by page of ``size``."""
    seen: list[str] = []
    after: str | None = None
    while True:
        body = await server.graphql(query, {"id": gid, "first": size, "after": after}, token=token)
        assert "errors" not in body, body
        connection = body["data"][key]["transactions"]
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return seen
        after = connection["pageInfo"]["endCursor"]


async def test_pages_of_either_connection_cover_the_list_once_in_order(
    server: Server, world: World, books: Books
) -> None:
    token = token_for(server, world, "supervisor")
    whole = await walk(server, token, CUSTOMER, "customer", books.a.gid, 20)
    assert len(whole) == len(PURCHASES)
    for size in (1, 2, 4):
        assert await walk(server, token, CUSTOMER, "customer", books.a.gid, size) == whole
        assert await walk(server, token, CARD, "node", books.a.card, size) == whole


async def test_a_page_after_a_cursor_is_the_same_when_newer_transactions_arrive(
    server: Server, world: World, books: Books
) -> None:
    card_id, _, customer_id = await new_card(server, world)
    await ingest(
        server, service_token(server, books.feed), [purchase(card_id, *p) for p in PURCHASES]
    )
    who = Holder(customer_id, card_id)
    token = token_for(server, world, "agent")
    first, _ = await page_of(server, token, who, first=2)
    assert first is not None
    cursor = first["pageInfo"]["endCursor"]
    before, _ = await page_of(server, token, who, first=2, after=cursor)

    newer = purchase(card_id, "9.90", "瑞幸咖啡", "dining", "2025-11-01T08:00:00+08:00")
    assert (await ingest(server, service_token(server, books.feed), [newer]))["imported"] == 1
    after, _ = await page_of(server, token, who, first=2, after=cursor)

    assert before is not None
    assert after is not None
    assert [e["node"]["id"] for e in after["edges"]] == [e["node"]["id"] for e in before["edges"]]
    assert after["pageInfo"]["hasPreviousPage"] is True
    assert after["totalCount"] == len(PURCHASES) + 1


async def test_a_cursor_this_api_did_not_issue_is_bad_user_input(
    server: Server, world: World, books: Books
) -> None:
    _, errors = await page_of(server, token_for(server, world, "agent"), books.a, after="nope")
    assert [(e["extensions"]["code"], e["extensions"].get("field")) for e in errors] == [
        ("BAD_USER_INPUT", "after")
    ]


# Statements and cost -----------------------------------------------------------------------


async def test_a_page_of_customers_loads_its_transactions_in_constant_statements(
    server: Server, world: World, books: Books
) -> None:
    for _ in range(3):  # the newest customers, so both pages below hold spending
        await holder(server, world, books.feed, "BJ-CY")
    token = token_for(server, world, "admin")
    counts = []
    for size in (2, 20):
        body, statements = await server.count_statements(PAGE, {"first": size}, token=token)
        assert "errors" not in body, body
        edges = body["data"]["customers"]["edges"]
        assert len(edges) == size
        spending = [e for e in edges if e["node"]["transactions"]["totalCount"]]
        assert len(spending) >= min(size, 3)
        # Customers other tests gave a few transactions may share the page.
        assert all(
            len(e["node"]["transactions"]["edges"])
            == min(5, e["node"]["transactions"]["totalCount"])
            for e in spending
        )
        counts.append(statements)
    assert counts[0] == counts[1]


def test_the_transaction_connections_are_costed_like_every_connection() -> None:
    query = (
        "{ customers(first: 20) { edges { node { transactions(first: 5) "
        "{ edges { node { amount card { last4 transactions(first: 3) { totalCount } } } } } } } } }"
    )
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    cost = operation_cost(
        schema._schema, document, operation, {}, default_page_size=20, max_page_size=100
    )
    inner = 1 + 1 + 1 + (1 + 1 + (1 + 3 * 1))  # edges, node, amount, card(last4, transactions)
    assert cost.total == 1 + 20 * (1 + 1 + (1 + 5 * inner))


KINDS = """
query Kinds($id: ID!, $filter: TransactionFilter) {
  customer(id: $id) {
    transactions(first: 10, filter: $filter) { totalCount edges { node { kind amount } } }
  }
}
"""


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (None, [("REFUND", "20.00"), ("REPAYMENT", "500.00"), ("PURCHASE", "128.00")]),
        ("PURCHASE", [("PURCHASE", "128.00")]),
        ("REPAYMENT", [("REPAYMENT", "500.00")]),
        ("REFUND", [("REFUND", "20.00")]),
    ],
)
async def test_each_transaction_says_its_kind_and_the_filter_narrows_by_it(
    server: Server, world: World, books: Books, kind: str | None, expected: list[Any]
) -> None:
    """Repayments and refunds arrive through the same import as purchases (with ``kind``)."""
    card_id, _, customer_id = await new_card(server, world)
    rows = [
        purchase(card_id, "128.00", "海底捞火锅", "dining", "2025-09-20T19:30:00+08:00"),
        {
            **purchase(card_id, "500.00", "还款", "other", "2025-09-25T09:00:00+08:00"),
            "kind": "repayment",
        },
        {
            **purchase(card_id, "20.00", "海底捞火锅", "dining", "2025-09-26T09:00:00+08:00"),
            "kind": "refund",
        },
    ]
    payload = await ingest(server, service_token(server, books.feed), rows)
    assert payload["imported"] == 3, payload
    body = await server.graphql(
        KINDS,
        {"id": to_global_id("Customer", customer_id), "filter": {"kind": kind} if kind else None},
        token=token_for(server, world, "agent"),
    )
    assert body.get("errors") is None, body
    connection = body["data"]["customer"]["transactions"]
    got = [(edge["node"]["kind"], edge["node"]["amount"]) for edge in connection["edges"]]
    assert got == expected
    assert connection["totalCount"] == len(expected)
