"""Reading risk alerts: riskAlerts per role (risk officers every branch, supervisors theirs,
the others refused, merchants included), its filter and order, Customer.riskAlerts for the
customer and for staff, the policy rows, and the statements a page costs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.risk.alert import AlertRule, AlertSeverity, AlertStatus
from schema.relay import to_global_id
from tests.conftest import Server
from tests.schema.risk.support_risk_alerts import (
    LIST,
    alert_for,
    holder,
    payload,
    tokens,
)
from tests.support import World


def ids(body: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in payload(body)["edges"]]


def by_customer(customer: str) -> dict[str, Any]:
    return {"filter": {"customerId": customer}, "first": 10}


async def test_a_risk_officer_lists_a_customers_alerts_newest_first_with_every_field(
    server: Server, world: World
) -> None:
    who = await holder(server, world, branch="SH-PD")
    older = await alert_for(server, who, created_at=datetime.now(UTC) - timedelta(hours=1))
    newer = await alert_for(
        server,
        who,
        rule=AlertRule.INACTIVE_CARD_USE,
        severity=AlertSeverity.MEDIUM,
        transaction_id=None,
        details={"cardStatus": "frozen", "category": "travel", "currency": "USD"},
    )
    roles = await tokens(server, world)

    body = await server.graphql(LIST, by_customer(who.gid), token=roles["risk_officer"])

    assert ids(body) == [newer, older]
    assert payload(body)["totalCount"] == 2
    node = payload(body)["edges"][0]["node"]
    assert node["rule"] == "INACTIVE_CARD_USE"
    assert node["severity"] == "MEDIUM"
    assert node["status"] == "OPEN"
    assert node["amount"] == "88.00"
    assert node["details"] == {
        "count": None,
        "windowMinutes": None,
        "usualAmount": None,
        "category": "TRAVEL",
        "currency": "USD",
        "cardStatus": "FROZEN",
    }
    assert payload(body)["edges"][1]["node"]["details"]["count"] == 5
    assert node["allowedActions"] == [
        "CONFIRM_FRAUD",
        "MARK_LEGITIMATE",
        "MARK_FALSE_POSITIVE",
        "ESCALATE",
    ]


async def test_the_filter_narrows_by_status_rule_severity_card_and_time(
    server: Server, world: World
) -> None:
    who = await holder(server, world)
    velocity = await alert_for(server, who)
    foreign = await alert_for(
        server,
        who,
        rule=AlertRule.FOREIGN_CURRENCY,
        severity=AlertSeverity.LOW,
        status=AlertStatus.ESCALATED,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    officer = (await tokens(server, world))["risk_officer"]

    async def listed(**filters: Any) -> list[str]:
        variables = {"filter": {"customerId": who.gid, **filters}, "first": 10}
        return ids(await server.graphql(LIST, variables, token=officer))

    assert await listed(status="ESCALATED") == [foreign]
    assert await listed(rule="VELOCITY") == [velocity]
    assert await listed(severity="LOW") == [foreign]
    assert await listed(cardId=to_global_id("Card", who.card_id)) == [velocity, foreign]
    assert await listed(raisedTo="2026-02-01T00:00:00Z") == [foreign]
    assert await listed(raisedFrom="2026-02-01T00:00:00Z") == [velocity]
    bad = await server.graphql(
        LIST,
        {"filter": {"raisedFrom": "2026-02-01T00:00:00Z", "raisedTo": "2026-01-01T00:00:00Z"}},
        token=officer,
    )
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("role", "own_branch", "other_branch"),
    [
        ("risk_officer", True, True),
        ("admin", True, True),
        ("auditor", True, True),
        ("supervisor", True, False),
    ],
)
async def test_who_lists_which_alerts(
    server: Server, world: World, role: str, own_branch: bool, other_branch: bool
) -> None:
    here = await holder(server, world, branch="BJ-CY")  # the demo supervisor's branch
    there = await holder(server, world, branch="SH-PD")
    mine, theirs = await alert_for(server, here), await alert_for(server, there)
    token = (await tokens(server, world))[role]

    seen_here = ids(await server.graphql(LIST, by_customer(here.gid), token=token))
    seen_there = ids(await server.graphql(LIST, by_customer(there.gid), token=token))

    assert seen_here == ([mine] if own_branch else [])
    assert seen_there == ([theirs] if other_branch else [])


@pytest.mark.parametrize("role", ["agent", "marketer", "merchant", "customer"])
async def test_others_are_refused_the_queue(server: Server, world: World, role: str) -> None:
    who = await holder(server, world)
    await alert_for(server, who)
    token = who.token if role == "customer" else (await tokens(server, world))[role]

    body = await server.graphql(LIST, by_customer(who.gid), token=token)

    assert body["data"]["riskAlerts"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


ME = """
{ me { riskAlerts(first: 5) { id status amount details { count } customerAnswer
  card { id } } } }
"""
CUSTOMER = """
query One($id: ID!) { customer(id: $id) { riskAlerts(first: 5) { id resolutionNote } } }
"""


async def test_a_customer_reads_their_own_alerts_in_the_app(server: Server, world: World) -> None:
    who = await holder(server, world)
    other = await holder(server, world)
    alert = await alert_for(server, who)
    await alert_for(server, other)

    body = await server.graphql(ME, token=who.token)

    assert "errors" not in body, body
    [seen] = body["data"]["me"]["riskAlerts"]
    assert seen["id"] == alert
    assert seen["amount"] == "88.00"
    assert seen["details"] == {"count": 5}
    assert seen["card"] == {"id": to_global_id("Card", who.card_id)}


@pytest.mark.parametrize(
    ("role", "sees"),
    [("risk_officer", True), ("supervisor", True), ("auditor", True), ("agent", False)],
)
async def test_staff_read_a_customers_alerts_only_with_risk_read(
    server: Server, world: World, role: str, sees: bool
) -> None:
    who = await holder(server, world)
    alert = await alert_for(server, who)
    token = (await tokens(server, world))[role]

    body = await server.graphql(CUSTOMER, {"id": who.gid}, token=token)

    alerts = body["data"]["customer"]["riskAlerts"]
    assert [a["id"] for a in alerts] == ([alert] if sees else [])


PAGE = """
query Page($first: Int, $filter: RiskAlertFilter) {
  riskAlerts(first: $first, filter: $filter) {
    totalCount
    edges { node { id amount
      customer { id tier { id } }
      card { id last4 status }
      transaction { id amount card { id } }
    } }
  }
}
"""


async def test_a_page_of_alerts_with_customer_card_and_transaction_costs_the_same_statements(
    server: Server, world: World
) -> None:
    from tests.resolvers.risk.support_alerts import new_card, row, run_import

    branch_holders = [await new_card(server, world) for _ in range(6)]
    for index, card in enumerate(branch_holders):  # a burst each: one velocity alert per card
        await run_import(
            server,
            *[
                row(card, f"2026-05-0{1 + index % 5}T12:0{i}:00+08:00", reference=f"p{index}-{i}")
                for i in range(5)
            ],
        )
    officer = (await tokens(server, world))["risk_officer"]
    variables: dict[str, Any] = {"first": 1, "filter": {"rule": "VELOCITY"}}
    await server.graphql(PAGE, variables, token=officer)  # warm-up
    counts = []
    for size in (1, 3, 6):
        body, statements = await server.count_statements(
            PAGE, {**variables, "first": size}, token=officer
        )
        assert "errors" not in body, body
        edges = body["data"]["riskAlerts"]["edges"]
        assert len(edges) == size
        assert all(edge["node"]["transaction"]["card"]["id"] for edge in edges)
        counts.append(statements)
    # alerts + count + customers + tiers + cards + transactions, whatever the page size
    assert counts[0] == counts[1] == counts[2], counts
    assert counts[0] <= 6, counts
