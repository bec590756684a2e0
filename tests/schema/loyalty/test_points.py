"""``Customer.points`` over HTTP: the balance, what expires soon and the history.

Given a customer whose purchases and refund were imported with the batch effects, and whose
old points were partly spent, each role reads their points as the policy row says (staff who
serve or oversee customers, in their row scope, and the customer themself; marketers,
risk officers and merchants not); a page of customers loads its points in a constant number
of statements.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auth.policy import Access, rule_for
from core.identity import Principal, PrincipalKind, Role, Scope
from models.loyalty.ledger import PointsEntry, PointsKind
from resolvers.loyalty.balance import Expiry, unspent_by_expiry
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.resolvers.loyalty.support import Holder, import_lines, line, new_holder
from tests.support import DEMO_STAFF, World

POINTS = """
query One($id: ID!, $first: Int, $after: String) {
  customer(id: $id) {
    points {
      balance
      expiringSoon { points at }
      history(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node { kind points occurredAt expiresAt } }
      }
    }
  }
}
"""
ME = "{ me { points { balance history(first: 10) { totalCount } } } }"
PAGE = """
query Page($first: Int) {
  customers(first: $first) {
    edges { node { id points { balance expiringSoon { points at }
      history(first: 3) { totalCount edges { node { kind points } } } } } }
  }
}
"""


@dataclass(frozen=True)
class Account:
    holder: Holder
    gid: str
    expiring_at: datetime


@pytest.fixture(scope="module")
async def account(server: Server, world: World) -> Account:
    """Earned 100 (shopping) and 60 (dining, 30 yuan) this year, 20 refunded; 40 earned long
    ago that expire within days, of which 15 were spent."""
    holder = await new_holder(server.state, world)
    await import_lines(
        server.state,
        line(holder, "100.00", time="2026-05-02T09:00:00+08:00"),
        line(holder, "30.00", category="dining", time="2026-05-03T09:00:00+08:00"),
        line(holder, "20.00", kind="refund", time="2026-05-04T09:00:00+08:00"),
    )
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    async with server.state.database.session() as session:
        session.add_all(
            [
                PointsEntry(
                    customer_id=holder.customer_id,
                    kind=PointsKind.ADJUST.value,
                    points=40,
                    occurred_at=datetime(2024, 1, 5, tzinfo=UTC),
                    expires_at=soon,
                    natural_key=f"test-adjust:{uuid.uuid4()}",
                ),
                PointsEntry(
                    customer_id=holder.customer_id,
                    kind=PointsKind.REDEEM.value,
                    points=-15,
                    occurred_at=datetime(2025, 1, 5, tzinfo=UTC),
                    natural_key=f"test-spend:{uuid.uuid4()}",
                ),
            ]
        )
        await session.commit()
    return Account(holder, to_global_id("Customer", holder.customer_id), soon)


async def _points(server: Server, token: str, account: Account, **variables: Any) -> Any:
    return await server.graphql(POINTS, {"id": account.gid, **variables}, token=token)


@pytest.mark.parametrize("role", ["admin", "supervisor", "agent", "auditor"])
async def test_staff_who_serve_or_oversee_read_balance_expiry_and_history(
    server: Server, world: World, account: Account, role: str
) -> None:
    body = await _points(server, staff_token(server, world, DEMO_STAFF[role]), account, first=10)
    assert "errors" not in body, body
    points = body["data"]["customer"]["points"]
    # 100 + 60 − 20 (refund) + 40 − 15 = 165. Every debit (the 15 spent and the 20
    # reversed) takes the oldest points first: of the 40 expiring, 40 − 35 = 5 are left.
    assert points["balance"] == 165
    assert [e["points"] for e in points["expiringSoon"]] == [5]
    assert datetime.fromisoformat(points["expiringSoon"][0]["at"]) == account.expiring_at
    history = points["history"]
    assert history["totalCount"] == 5
    assert [(e["node"]["kind"], e["node"]["points"]) for e in history["edges"]] == [
        ("REVERSE", -20),
        ("EARN", 60),
        ("EARN", 100),
        ("REDEEM", -15),
        ("ADJUST", 40),
    ]
    assert history["edges"][1]["node"]["expiresAt"] is not None


async def test_history_pages_on_with_its_cursor(
    server: Server, world: World, account: Account
) -> None:
    token = staff_token(server, world, DEMO_STAFF["admin"])
    first = (await _points(server, token, account, first=2))["data"]["customer"]["points"]
    cursor = first["history"]["pageInfo"]["endCursor"]
    rest = (await _points(server, token, account, first=10, after=cursor))["data"]["customer"]
    kinds = [e["node"]["kind"] for e in rest["points"]["history"]["edges"]]
    assert first["history"]["pageInfo"]["hasNextPage"] is True
    assert kinds == ["EARN", "REDEEM", "ADJUST"]


async def test_the_customer_reads_their_own_points(server: Server, account: Account) -> None:
    body = await server.graphql(ME, token=customer_token(server, account.holder.customer_id))
    assert "errors" not in body, body
    assert body["data"]["me"]["points"] == {"balance": 165, "history": {"totalCount": 5}}


async def test_another_branchs_agent_finds_no_such_customer(
    server: Server, world: World, account: Account
) -> None:
    body = await _points(server, staff_token(server, world, "demo-agent-b"), account)
    assert body["data"]["customer"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]


@pytest.mark.parametrize("role", ["marketer", "risk_officer"])
async def test_marketers_and_risk_officers_are_refused_an_individuals_points(
    server: Server, world: World, account: Account, role: str
) -> None:
    body = await _points(server, staff_token(server, world, DEMO_STAFF[role]), account)
    assert body["data"]["customer"] == {"points": None}
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
        ("FORBIDDEN", ["customer", "points"])
    ]


def test_the_policy_row_denies_merchants_and_service_accounts() -> None:
    rule = rule_for("Customer", "points")
    for role in (Role.MERCHANT, Role.SERVICE, Role.MARKETER, Role.RISK_OFFICER):
        caller = Principal(
            kind=PrincipalKind.STAFF,
            subject="x",
            role=role,
            scopes=frozenset(Scope),
            client_id="c",
            token_id="t",
            expires_at=0,
        )
        assert rule.access_for(caller) is Access.DENIED
    assert rule.scope is Scope.POINTS_READ


async def test_a_merchant_cannot_reach_a_customer(server: Server, account: Account) -> None:
    from tests.support_offers import add_merchant, merchant_token

    merchant = await add_merchant(server.state, "积分查询商户")
    body = await _points(server, merchant_token(server.state, merchant), account)
    assert body["data"] is None or body["data"]["customer"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}


async def test_a_page_of_customers_loads_its_points_in_constant_statements(
    server: Server, world: World, account: Account
) -> None:
    for _ in range(3):
        holder = await new_holder(server.state, world)
        await import_lines(server.state, line(holder, "12.00"))
    token = staff_token(server, world, DEMO_STAFF["admin"])
    counts = []
    for size in (2, 20):
        body, statements = await server.count_statements(PAGE, {"first": size}, token=token)
        assert "errors" not in body, body
        edges = body["data"]["customers"]["edges"]
        assert len(edges) == size
        assert sum(1 for e in edges if e["node"]["points"]["balance"] > 0) >= min(size, 3)
        counts.append(statements)
    assert counts[0] == counts[1]


def test_fifo_leaves_the_newest_points_unspent() -> None:
    day = datetime(2027, 1, 1, tzinfo=UTC)
    later = datetime(2028, 1, 1, tzinfo=UTC)
    credits = [(later, 50), (day, 100)]
    assert unspent_by_expiry(credits, 0) == [Expiry(100, day), Expiry(50, later)]
    assert unspent_by_expiry(credits, 30) == [Expiry(70, day), Expiry(50, later)]
    assert unspent_by_expiry(credits, 120) == [Expiry(30, later)]
    assert unspent_by_expiry(credits, 150) == []
