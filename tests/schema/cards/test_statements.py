"""A card's bill over HTTP: its statements, balance, credit left and overdue standing.

Given a fresh customer of branch A whose card has two hand-made statements and some activity
since the last, when each role reads the card, then the figures are the hand-computed ones for
the customer themself, their branch's agent and supervisor, risk officers, admins and
auditors; marketers get FORBIDDEN on each (and no statements), another branch's agent does
not find the customer; and a page of customers → cards → statements costs the same number of
statements whatever its size.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select, update

from auth.policy import Access, rule_for
from core.identity import Role, Scope
from models.cards.card import Card
from models.cards.statement import Statement
from models.transactions.transaction import Transaction
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF, World, add_customer

CARD_BILL = """
query Bill($id: ID!, $first: Int, $after: String) {
  customer(id: $id) {
    cards {
      balance availableCredit minimumPayment dueDate daysPastDue overdueBucket
      statements(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node { cycleStart cycleEnd previousBalance purchases refunds repayments
          statementBalance minimumPayment dueDate paidByDueDate } }
      }
    }
  }
}
"""
FIGURES = ("balance", "availableCredit", "minimumPayment", "dueDate", "daysPastDue")
PAGE = """
query Page($first: Int) {
  customers(first: $first) {
    edges { node { cards { balance overdueBucket
      statements(first: 2) { totalCount edges { node { statementBalance } } } } } }
  }
}
"""


@dataclass(frozen=True)
class BilledCustomer:
    id: uuid.UUID
    card_id: uuid.UUID


def _statement(card_id: uuid.UUID, end: date, **cents: int) -> dict[str, object]:
    return {
        "card_id": card_id,
        "cycle_end": end,
        "cycle_start": date(end.year, end.month - 1, 16),
        "opens_at": None,
        "closes_at": datetime(end.year, end.month, end.day, 16, tzinfo=UTC),
        "due_date": date(end.year, end.month + 1, 4),
        "due_ends_at": datetime(end.year, end.month + 1, 4, 16, tzinfo=UTC),
        "paid_by_due": None,
        "created_at": datetime.now(UTC),
        **{f"{name}_cents": value for name, value in cents.items()},
    }


def _transaction(card_id: uuid.UUID, kind: str, cents: int, when: datetime) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "card_id": card_id,
        "amount_cents": cents,
        "merchant_name": "Shop",
        "merchant_category": "shopping",
        "channel": "pos",
        "occurred_at": when,
        "natural_key": f"test-{uuid.uuid4().hex}",
        "kind": kind,
        "created_at": when,
    }


@pytest.fixture(scope="module")
async def billed(server: Server, world: World) -> BilledCustomer:
    """Limit 10,000; bills of Feb 15 (1,200, paid late: M1, 11 days) and Mar 15 (1,450,
    minimum 145, due Apr 4); since then a 300 purchase, a 50 refund and a 100 repayment."""
    customer_id = await add_customer(server.state, world)
    async with server.state.database.session() as session:
        card = (await session.scalars(select(Card).where(Card.customer_id == customer_id))).one()
        common = {"purchases": 0, "refunds": 0, "repayments": 0}
        await session.execute(
            insert(Statement),
            [
                _statement(
                    card.id,
                    date(2026, 2, 15),
                    previous_balance=0,
                    balance=120_000,
                    minimum_payment=12_000,
                    **{**common, "purchases": 120_000},
                ),
                _statement(
                    card.id,
                    date(2026, 3, 15),
                    previous_balance=120_000,
                    balance=145_000,
                    minimum_payment=14_500,
                    **{**common, "purchases": 25_000},
                ),
            ],
        )
        after = datetime(2026, 3, 20, 4, tzinfo=UTC)
        await session.execute(
            insert(Transaction),
            [
                _transaction(card.id, "purchase", 30_000, after),
                _transaction(card.id, "refund", 5_000, after),
                _transaction(card.id, "repayment", 10_000, after),
                # Before the March close: already on the bill, not counted again.
                _transaction(card.id, "purchase", 99_900, datetime(2026, 3, 10, tzinfo=UTC)),
            ],
        )
        await session.execute(
            update(Card).where(Card.id == card.id).values(days_past_due=11, overdue_bucket="m1")
        )
        await session.commit()
    return BilledCustomer(customer_id, card.id)


EXPECTED = {
    "balance": "1600.00",  # 1450 + 300 − 50 − 100
    "availableCredit": "8400.00",
    "minimumPayment": "145.00",
    "dueDate": "2026-04-04",
    "daysPastDue": 11,
    "overdueBucket": "M1",
}


def _card(body: dict[str, object]) -> dict[str, object]:
    data = body["data"]
    assert isinstance(data, dict)
    [card] = data["customer"]["cards"]
    assert isinstance(card, dict)
    return card


async def test_the_customer_reads_their_bill_and_standing(
    server: Server, billed: BilledCustomer
) -> None:
    body = await server.graphql(
        CARD_BILL,
        {"id": to_global_id("Customer", billed.id), "first": 1},
        token=customer_token(server, billed.id),
    )
    assert "errors" not in body, body
    card = _card(body)
    assert {name: card[name] for name in EXPECTED} == EXPECTED
    statements = card["statements"]
    assert statements["totalCount"] == 2
    assert statements["pageInfo"]["hasNextPage"] is True
    [newest] = [edge["node"] for edge in statements["edges"]]
    assert newest == {
        "cycleStart": "2026-02-16",
        "cycleEnd": "2026-03-15",
        "previousBalance": "1200.00",
        "purchases": "250.00",
        "refunds": "0.00",
        "repayments": "0.00",
        "statementBalance": "1450.00",
        "minimumPayment": "145.00",
        "dueDate": "2026-04-04",
        "paidByDueDate": None,
    }
    older = await server.graphql(
        CARD_BILL,
        {
            "id": to_global_id("Customer", billed.id),
            "first": 5,
            "after": statements["pageInfo"]["endCursor"],
        },
        token=customer_token(server, billed.id),
    )
    edges = _card(older)["statements"]["edges"]
    assert [edge["node"]["cycleEnd"] for edge in edges] == ["2026-02-15"]


@pytest.mark.parametrize("role", ["admin", "supervisor", "agent", "risk_officer", "auditor"])
async def test_staff_who_serve_or_oversee_the_card_read_its_figures(
    server: Server, world: World, billed: BilledCustomer, role: str
) -> None:
    token = staff_token(server, world, DEMO_STAFF[role])
    body = await server.graphql(
        CARD_BILL, {"id": to_global_id("Customer", billed.id), "first": 5}, token=token
    )
    assert "errors" not in body, body
    card = _card(body)
    assert {name: card[name] for name in EXPECTED} == EXPECTED
    assert card["statements"]["totalCount"] == 2


async def test_a_marketer_is_refused_every_figure_and_the_statements(
    server: Server, world: World, billed: BilledCustomer
) -> None:
    token = staff_token(server, world, DEMO_STAFF["marketer"])
    body = await server.graphql(
        CARD_BILL, {"id": to_global_id("Customer", billed.id), "first": 5}, token=token
    )
    card = _card(body)
    assert all(card[name] is None for name in (*EXPECTED, "statements"))
    refused = {
        error["path"][-1] for error in body["errors"] if error["extensions"]["code"] == "FORBIDDEN"
    }
    assert refused == {*EXPECTED, "statements"}


async def test_another_branchs_agent_does_not_find_the_customer(
    server: Server, world: World, billed: BilledCustomer
) -> None:
    token = staff_token(server, world, "demo-agent-b")
    body = await server.graphql(
        CARD_BILL, {"id": to_global_id("Customer", billed.id), "first": 5}, token=token
    )
    assert body["data"]["customer"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_page_of_customers_cards_and_statements_costs_the_same_whatever_its_size(
    server: Server, world: World, billed: BilledCustomer
) -> None:
    token = staff_token(server, world, "demo-admin")
    await server.graphql(PAGE, {"first": 1}, token=token)  # the tier catalogue, fresh
    counts = []
    for size in (2, 8, 20):
        body, statements = await server.count_statements(PAGE, {"first": size}, token=token)
        assert "errors" not in body, body
        counts.append(statements)
    assert counts[0] == counts[1] == counts[2]


async def test_another_customer_does_not_find_the_card_holder(
    server: Server, world: World, billed: BilledCustomer
) -> None:
    body = await server.graphql(
        CARD_BILL,
        {"id": to_global_id("Customer", billed.id), "first": 5},
        token=customer_token(server, world.alice.id),
    )
    assert body["data"]["customer"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("field", [*EXPECTED])
def test_the_policy_table_denies_marketers_merchants_and_service_accounts(field: str) -> None:
    rule = rule_for("Card", field)
    assert rule.scope is Scope.CARDS_READ
    for role in Role:
        denied = role in (Role.MARKETER, Role.MERCHANT, Role.SERVICE)
        assert (rule.access.get(role, Access.DENIED) is Access.DENIED) is denied, role
