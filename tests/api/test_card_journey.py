"""The card business end to end, over HTTP and the CLI, the way the issue walks it.

A customer opened by an agent activates their card in the app; purchases and a partial
repayment are imported; ``statements close`` produces the bill; the next close, after the
due date was missed, puts the card in M1 and opens a collection case; an agent logs a
promise to pay; the repayment imported afterwards cures the card and closes the case; a
burst of purchases raises a velocity alert that a risk officer confirms as fraud, which
freezes the card; the customer asks for a higher limit that a risk officer approves; and
``analytics.risk`` shows each step.
"""

from __future__ import annotations

import calendar
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.identity import Role
from models.customers.identifiers import (
    generate_mobile,
    generate_national_id,
    generate_unionpay_pan,
)
from models.organisation.organisation import StaffUser
from schema.relay import from_global_id
from tests.conftest import Server
from tests.models.conftest import FreshDatabase
from tests.security.conftest import running_app, variant

pytestmark = pytest.mark.slow

CREATE = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer { id cards { id version status statementDay } }
    userErrors { code message }
  }
}
"""
ACTIVATE = """
mutation Activate($id: ID!, $version: Int!) {
  activateCard(input: {cardId: $id, version: $version}) {
    card { status version } userErrors { code message }
  }
}
"""
CARD = """
query Card($id: ID!) {
  node(id: $id) { ... on Card {
    status version balance minimumPayment dueDate daysPastDue overdueBucket creditLimit
    statements(first: 5) { edges { node { statementBalance minimumPayment dueDate } } }
  } }
}
"""
CASES = """
{ collectionCases(first: 10) { edges { node { id status bucket version card { id } } } } }
"""
CONTACT = """
mutation Contact($input: LogCollectionContactInput!) {
  logCollectionContact(input: $input) {
    case { status promiseAmount promiseDate } userErrors { code message }
  }
}
"""
ALERTS = """
{ riskAlerts(first: 10) { edges { node { id rule status version card { id } } } } }
"""
RESOLVE = """
mutation Resolve($input: ResolveRiskAlertInput!) {
  resolveRiskAlert(input: $input) { alert { status } userErrors { code message } }
}
"""
REQUEST_LIMIT = """
mutation Request($id: ID!) {
  requestCreditLimitChange(input: {cardId: $id, newLimit: "20000", reason: "装修"}) {
    request { id version status } userErrors { code message }
  }
}
"""
DECIDE_LIMIT = """
mutation Decide($id: ID!, $version: Int!) {
  decideCreditLimitChange(
    input: {requestId: $id, decision: APPROVE, reason: "收入稳定", version: $version}
  ) { request { status } userErrors { code message } }
}
"""
RISK_KPIS = """
query Risk($from: DateTime!, $to: DateTime!) {
  analytics { risk(range: {from: $from, to: $to}) {
    overdue { overdueCards buckets { bucket cards } }
    rollRates { from to count rolled }
    collections { cases cured cureRate contacted promises kept promiseKeptRate }
    alerts { rule count confirmedFraud }
    limitDecisions { requested approved rejected }
  } }
}
"""
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def app(fresh_database: FreshDatabase) -> AsyncIterator[Server]:
    # Collection contacts are refused at night: the journey's clock is the wall clock, so
    # its quiet hours are empty here (the contact rules have their own tests).
    settings = variant(
        fresh_database.settings, collection_quiet_start=time(0), collection_quiet_end=time(0)
    )
    async with running_app(settings) as server:
        yield server


def _cli_ok(result: Any) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return str(result.stdout)


async def _staff_token(server: Server, username: str) -> str:
    async with server.state.database.session() as session:
        user = (
            await session.scalars(select(StaffUser).where(StaffUser.username == username))
        ).one()
    return server.state.tokens.issue(
        subject=str(user.id),
        role=Role(user.role),
        client_id="cardcrm-console",
        branch_id=user.branch_id,
        username=user.username,
    )


async def _risk_figures(server: Server, token: str, window: dict[str, str]) -> Counter[str]:
    """The analytics.risk figures the journey moves, as counts."""
    body = await server.graphql(RISK_KPIS, window, token=token)
    kpis = body["data"]["analytics"]["risk"]
    figures: Counter[str] = Counter()
    for name in ("cases", "cured", "contacted", "promises", "kept"):
        figures[name] = kpis["collections"][name]
    for row in kpis["rollRates"]:
        figures[f"{row['from']}->{row['to']}"] = row["rolled"]
    for row in kpis["alerts"]:
        figures[row["rule"].upper()] = row["count"]
        figures[f"{row['rule'].upper()} confirmed"] = row["confirmedFraud"]
    for name in ("requested", "approved", "rejected"):
        figures[name] = kpis["limitDecisions"][name]
    return figures


def _last_statement_day(day_of_month: int, before: date) -> date:
    """The latest date before ``before`` that falls on ``day_of_month``."""
    year, month = before.year, before.month
    while True:
        candidate = date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))
        if candidate < before:
            return candidate
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)


def _month_before(day: date) -> date:
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _at(day: date, hour: int = 12) -> str:
    return datetime.combine(day, time(hour), ZONE).astimezone(UTC).isoformat()


def _csv(path: Path, rows: list[tuple[str, str, str, str, str, str]]) -> Path:
    lines = ["card_id,amount,merchant,merchant_category,time,kind,channel"]
    lines += [",".join((*row, "pos")) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_a_card_from_activation_through_collections_fraud_and_a_new_limit(
    fresh_database: FreshDatabase, app: Server, tmp_path: Path
) -> None:
    _cli_ok(await fresh_database.run_cli("seed", "--demo", "--customers", "5", "--seed", "3"))
    agent = await _staff_token(app, "demo-agent")
    risk = await _staff_token(app, "demo-risk")
    admin = await _staff_token(app, "demo-admin")
    window = {
        "from": (datetime.now(UTC) - timedelta(days=120)).isoformat(),
        "to": (datetime.now(UTC) + timedelta(days=7)).isoformat(),  # past the promise date
    }
    before = await _risk_figures(app, admin, window)

    # an agent opens the customer with an issued card; the customer activates it in the app
    rng = random.Random(14)
    birth = date(1990, 5, 17)
    created = await app.graphql(
        CREATE,
        {
            "input": {
                "name": "旅程客户",
                "birthDate": birth.isoformat(),
                "idNumber": generate_national_id(rng, birth),
                "phone": generate_mobile(rng),
                "consent": {"sms": True},
                "cards": [
                    {
                        "pan": generate_unionpay_pan(rng),
                        "product": "UnionPay Gold",
                        "creditLimit": "10000",
                    }
                ],
            }
        },
        token=agent,
    )
    assert created["data"]["createCustomer"]["userErrors"] == [], created
    customer_id = created["data"]["createCustomer"]["customer"]["id"]
    (card,) = created["data"]["createCustomer"]["customer"]["cards"]
    assert card["status"] == "ISSUED"
    customer = app.state.tokens.issue(
        subject=from_global_id(customer_id)[1], role=Role.CUSTOMER, client_id="cardcrm-mobile"
    )
    activated = await app.graphql(
        ACTIVATE, {"id": card["id"], "version": card["version"]}, token=customer
    )
    assert activated["data"]["activateCard"]["card"]["status"] == "ACTIVATED", activated
    card_id = card["id"]
    raw_card_id = from_global_id(card_id)[1]

    # purchases and a partial repayment in one cycle; the bill closes on the statement day
    today = datetime.now(ZONE).date()
    second_close = _last_statement_day(card["statementDay"], today)
    first_close = _month_before(second_close)
    feed = _csv(
        tmp_path / "cycle.csv",
        [
            (
                raw_card_id,
                "3000.00",
                "京东商城",
                "shopping",
                _at(first_close - timedelta(5)),
                "purchase",
            ),
            (
                raw_card_id,
                "1200.00",
                "全聚德",
                "dining",
                _at(first_close - timedelta(4)),
                "purchase",
            ),
            (raw_card_id, "100.00", "还款", "other", _at(first_close + timedelta(3)), "repayment"),
        ],
    )
    assert "3 imported" in _cli_ok(
        await fresh_database.run_cli("import", "transactions", str(feed))
    )
    _cli_ok(await fresh_database.run_cli("statements", "close", "--as-of", first_close.isoformat()))
    bill = (await app.graphql(CARD, {"id": card_id}, token=customer))["data"]["node"]
    (statement,) = [edge["node"] for edge in bill["statements"]["edges"]]
    assert statement["statementBalance"] == "4200.00"
    assert statement["minimumPayment"] == "420.00"

    # the due date passes with 100 of 420 repaid: the next close puts the card in M1
    _cli_ok(
        await fresh_database.run_cli("statements", "close", "--as-of", second_close.isoformat())
    )
    late = (await app.graphql(CARD, {"id": card_id}, token=agent))["data"]["node"]
    assert late["overdueBucket"] == "M1"
    assert late["daysPastDue"] > 0
    cases = (await app.graphql(CASES, token=agent))["data"]["collectionCases"]["edges"]
    (case,) = [edge["node"] for edge in cases if edge["node"]["card"]["id"] == card_id]
    assert (case["status"], case["bucket"]) == ("OPEN", "M1")

    # an agent logs a promise to pay
    promised = await app.graphql(
        CONTACT,
        {
            "input": {
                "caseId": case["id"],
                "version": case["version"],
                "channel": "PHONE",
                "outcome": "PROMISE_TO_PAY",
                "notes": "客户承诺三天内还款",
                "promiseAmount": "4100.00",
                "promiseDate": (today + timedelta(3)).isoformat(),
            }
        },
        token=agent,
    )
    assert promised["data"]["logCollectionContact"]["userErrors"] == [], promised
    assert promised["data"]["logCollectionContact"]["case"]["status"] == "PROMISED"

    # the repayment arrives through the import: the card is current and the case closed
    now = datetime.now(UTC)
    repay = _csv(
        tmp_path / "repay.csv",
        [
            (
                raw_card_id,
                "4100.00",
                "还款",
                "other",
                now.isoformat(),  # after the promise was made
                "repayment",
            )
        ],
    )
    _cli_ok(await fresh_database.run_cli("import", "transactions", str(repay)))
    cured = (await app.graphql(CARD, {"id": card_id}, token=agent))["data"]["node"]
    assert (cured["overdueBucket"], cured["daysPastDue"]) == ("CURRENT", 0)
    cases = (await app.graphql(CASES, token=agent))["data"]["collectionCases"]["edges"]
    assert [edge["node"]["status"] for edge in cases if edge["node"]["id"] == case["id"]] == [
        "CLOSED"
    ]

    # a burst of purchases raises a velocity alert; the risk officer confirms fraud
    # (in daytime, so no rule for purchases at night joins in, whenever the test runs)
    burst_start = datetime.combine(datetime.now(ZONE).date(), time(10), ZONE)
    if burst_start > now - timedelta(hours=1):
        burst_start -= timedelta(days=1)
    burst = _csv(
        tmp_path / "burst.csv",
        [
            (
                raw_card_id,
                "99.00",
                f"数码店{n}",
                "electronics",
                (burst_start + timedelta(minutes=n)).isoformat(),
                "purchase",
            )
            for n in range(6)
        ],
    )
    _cli_ok(await fresh_database.run_cli("import", "transactions", str(burst)))
    alerts = (await app.graphql(ALERTS, token=risk))["data"]["riskAlerts"]["edges"]
    (alert,) = [
        edge["node"]
        for edge in alerts
        if edge["node"]["rule"] == "VELOCITY" and edge["node"]["card"]["id"] == card_id
    ]
    resolved = await app.graphql(
        RESOLVE,
        {
            "input": {
                "alertId": alert["id"],
                "version": alert["version"],
                "decision": "CONFIRMED_FRAUD",
                "note": "客户电话确认非本人交易",
            }
        },
        token=risk,
    )
    assert resolved["data"]["resolveRiskAlert"]["alert"]["status"] == "CONFIRMED_FRAUD", resolved
    frozen = (await app.graphql(CARD, {"id": card_id}, token=customer))["data"]["node"]
    assert frozen["status"] == "FROZEN"

    # the customer asks for a higher limit; a risk officer approves it
    asked = await app.graphql(REQUEST_LIMIT, {"id": card_id}, token=customer)
    request = asked["data"]["requestCreditLimitChange"]["request"]
    assert request is not None, asked
    decided = await app.graphql(
        DECIDE_LIMIT, {"id": request["id"], "version": request["version"]}, token=risk
    )
    assert decided["data"]["decideCreditLimitChange"]["request"]["status"] == "APPROVED", decided
    raised = (await app.graphql(CARD, {"id": card_id}, token=customer))["data"]["node"]
    assert raised["creditLimit"] == "20000.00"

    # and analytics.risk shows each step: the journey's own figures on top of the demo's
    after = await _risk_figures(app, admin, window)
    assert after - before == Counter(
        {
            "cases": 1,
            "cured": 1,
            "contacted": 1,
            "promises": 1,
            "kept": 1,
            "CURRENT->M1": 1,
            "VELOCITY": 1,
            "VELOCITY confirmed": 1,
            "requested": 1,
            "approved": 1,
        }
    )
