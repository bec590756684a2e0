"""Loyalty and outreach end to end, over HTTP and the CLI, the way issue 15 walks it.

Customers opened by an agent spend at restaurants two months ago: the import posts their
points by tier multiplier, and importing the file again posts nothing; one customer redeems
a reward. The evaluation finds them at risk, in the dining segment; a marketer saves the
segment "dining, at risk" and launches an SMS campaign with a 10% control group; messages
are recorded only for customers who consented and are outside their do-not-disturb window.
Some of those reached spend again (the goal, reactivation) and ``campaign.results`` shows the
lift. ``tasks generate`` queues retention calls with the churn reasons; the agent completes
one. A complaint resolved by the agent brings a survey whose answer moves NPS, and
``analytics.staff`` shows the agent's day.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import col

from core.identity import Role
from models.customers.identifiers import (
    generate_mobile,
    generate_national_id,
    generate_unionpay_pan,
)
from models.organisation.organisation import StaffUser
from models.outreach.campaign import CampaignRecipient, RecipientOutcome
from models.outreach.message import MessageStatus, OutboundMessage
from schema.relay import from_global_id
from tests.conftest import Server
from tests.models.conftest import FreshDatabase
from tests.security.conftest import running_app

pytestmark = pytest.mark.slow

ZONE = ZoneInfo("Asia/Shanghai")
# The audience: large enough that a 10% holdout is never empty (0.9^60 < 0.2%).
AUDIENCE = 60

CREATE = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer { id cards { id version } }
    userErrors { code message }
  }
}
"""
ACTIVATE = """
mutation Activate($id: ID!, $version: Int!) {
  activateCard(input: {cardId: $id, version: $version}) { userErrors { code message } }
}
"""
POINTS = "query($id: ID!) { node(id: $id) { ... on Customer { points { balance } } } }"
CREATE_REWARD = """
mutation($input: CreateRewardInput!) {
  createReward(input: $input) { reward { id } userErrors { code message } }
}
"""
REDEEM = """
mutation($input: RedeemRewardInput!) {
  redeemReward(input: $input) { redemption { id points } balance userErrors { code message } }
}
"""
SAVE_SEGMENT = """
mutation($input: SaveSegmentInput!) {
  saveSegment(input: $input) { segment { name } userErrors { code message } }
}
"""
SEGMENT_COUNT = """
query($filter: CustomerFilter!) { customers(filter: $filter, first: 1) { totalCount } }
"""
CREATE_CAMPAIGN = """
mutation($input: CreateCampaignInput!) {
  createCampaign(input: $input) { campaign { id version } userErrors { code message } }
}
"""
LAUNCH = """
mutation($input: CampaignVersionInput!) {
  launchCampaign(input: $input) {
    audience control messaged noConsent delayed userErrors { code message }
  }
}
"""
RESULTS = """
query($id: ID!) { campaign(id: $id) { results {
  audience control messaged noConsent delivered
  treatment { size reached rate } controlGroup { size reached rate }
  lift { value low high }
} } }
"""
MY_TASKS = """
query($filter: TaskFilter) { myTasks(first: 100, filter: $filter) { totalCount edges { node {
  id version kind reasons customer { id }
} } } }
"""
COMPLETE_TASK = """
mutation($input: CompleteTaskInput!) {
  completeTask(input: $input) { task { status interactionId } userErrors { code message } }
}
"""
FILE_COMPLAINT = """
mutation($input: FileComplaintInput!) {
  fileComplaint(input: $input) { complaint { id version } userErrors { code message } }
}
"""
ASSIGN_COMPLAINT = """
mutation($input: AssignComplaintInput!) {
  assignComplaint(input: $input) { complaint { id version } userErrors { code message } }
}
"""
VIEWER = "{ viewer { id } }"
COMPLAINT_STEP = """
mutation($input: ComplaintActionInput!) {{
  {name}(input: $input) {{ complaint {{ id version }} userErrors {{ code message }} }}
}}
"""
RESOLVE_COMPLAINT = """
mutation($input: ResolveComplaintInput!) {
  resolveComplaint(input: $input) { complaint { id version } userErrors { code message } }
}
"""
MY_SURVEYS = "{ mySurveys { id complaintId } }"
ANSWER = """
mutation($input: AnswerSurveyInput!) {
  answerSurvey(input: $input) { survey { score } userErrors { code message } }
}
"""
SERVICE_NPS = """
query($range: DateRangeInput!) { analytics { service(range: $range) {
  nps { responses promoters detractors score }
} } }
"""
STAFF_STARS = """
query($range: DateRangeInput!) { analytics { staff(range: $range) {
  staff { id } interactions tasksDone tasksDoneOnTime complaintsResolved
  nps { responses score } atRiskCustomers
} } }
"""


@pytest.fixture
async def app(fresh_database: FreshDatabase) -> AsyncIterator[Server]:
    async with running_app(fresh_database.settings) as server:
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


def _customer_token(server: Server, customer_id: str) -> str:
    return server.state.tokens.issue(
        subject=from_global_id(customer_id)[1], role=Role.CUSTOMER, client_id="cardcrm-mobile"
    )


async def _ok(server: Server, query: str, variables: dict[str, Any], token: str) -> Any:
    body = await server.graphql(query, variables, token=token)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    if isinstance(payload, dict) and "userErrors" in payload:
        assert payload["userErrors"] == [], payload
    return payload


def _dnd_now() -> tuple[str, str]:
    """A do-not-disturb window around the present local hour."""
    hour = datetime.now(ZONE).hour
    return f"{(hour - 1) % 24:02d}:00", f"{(hour + 2) % 24:02d}:00"


async def _open_customers(server: Server, agent: str) -> list[dict[str, Any]]:
    """The audience: every sixth customer has not consented to SMS, every seventh does not
    want to be disturbed now; customer 0 holds the gold tier (points ×1.5)."""
    rng = random.Random(15)
    start, end = _dnd_now()
    customers = []
    for index in range(AUDIENCE):
        birth = date(1980 + index % 20, 1 + index % 12, 1 + index % 28)
        consent: dict[str, Any] = {"sms": index % 6 != 5, "phone": True}
        if index % 7 == 3:
            consent |= {"doNotDisturbStart": start, "doNotDisturbEnd": end}
        created = await _ok(
            server,
            CREATE,
            {
                "input": {
                    "name": f"客户{index:02d}",
                    "birthDate": birth.isoformat(),
                    "idNumber": generate_national_id(rng, birth),
                    "phone": generate_mobile(rng),
                    "tierCode": "GOLD" if index == 0 else "STANDARD",
                    "consent": consent,
                    "cards": [
                        {
                            "pan": generate_unionpay_pan(rng),
                            "product": "UnionPay Gold",
                            "creditLimit": "10000",
                        }
                    ],
                }
            },
            agent,
        )
        customer = created["customer"]
        (card,) = customer["cards"]
        await _ok(
            server,
            ACTIVATE,
            {"id": card["id"], "version": card["version"]},
            _customer_token(server, customer["id"]),
        )
        customers.append(
            {
                "id": customer["id"],
                "card": from_global_id(card["id"])[1],
                "sms": consent["sms"],
                "dnd": "doNotDisturbStart" in consent,
            }
        )
    return customers


def _purchases(path: Path, cards: list[str], at: datetime, amount: str = "100.00") -> Path:
    lines = ["card_id,amount,merchant,merchant_category,time,kind,channel"]
    lines += [f"{card},{amount},全聚德,dining,{at.isoformat()},purchase,pos" for card in cards]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_points_segments_a_campaign_with_its_lift_tasks_and_nps(
    fresh_database: FreshDatabase, app: Server, tmp_path: Path
) -> None:
    _cli_ok(await fresh_database.run_cli("seed", "--demo", "--customers", "3", "--seed", "15"))
    agent = await _staff_token(app, "demo-agent")
    marketer = await _staff_token(app, "demo-marketer")
    admin = await _staff_token(app, "demo-admin")
    started = datetime.now(UTC)
    window = {
        "from": (started - timedelta(days=1)).isoformat(),
        "to": (started + timedelta(days=1)).isoformat(),
    }
    customers = await _open_customers(app, agent)
    gold = customers[0]

    # purchases two months ago post points by the tier's multiplier; a re-import posts none
    spent = _purchases(
        tmp_path / "dining.csv", [c["card"] for c in customers], started - timedelta(days=60)
    )
    assert f"{AUDIENCE} imported" in _cli_ok(
        await fresh_database.run_cli("import", "transactions", str(spent))
    )
    balance = await app.graphql(POINTS, {"id": gold["id"]}, token=admin)
    # 100 yuan × 1 point × gold 150% × dining 200%
    assert balance["data"]["node"]["points"]["balance"] == 300
    standard = await app.graphql(POINTS, {"id": customers[1]["id"]}, token=admin)
    assert standard["data"]["node"]["points"]["balance"] == 200
    _cli_ok(await fresh_database.run_cli("import", "transactions", str(spent)))
    again = await app.graphql(POINTS, {"id": gold["id"]}, token=admin)
    assert again["data"]["node"]["points"]["balance"] == 300

    # the gold customer redeems a reward in the app, once per idempotency key
    reward = await _ok(
        app,
        CREATE_REWARD,
        {
            "input": {
                "name": "观影券",
                "pointsPrice": 250,
                "stock": 5,
                "startsAt": (started - timedelta(days=1)).isoformat(),
                "endsAt": (started + timedelta(days=30)).isoformat(),
            }
        },
        marketer,
    )
    redeem = {"input": {"rewardId": reward["reward"]["id"], "idempotencyKey": "journey-1"}}
    gold_token = _customer_token(app, gold["id"])
    first = await _ok(app, REDEEM, redeem, gold_token)
    retried = await _ok(app, REDEEM, redeem, gold_token)
    assert first["balance"] == retried["balance"] == 50
    assert first["redemption"]["id"] == retried["redemption"]["id"]

    # the evaluation finds them at risk (60 days silent) in the dining segment
    _cli_ok(await fresh_database.run_cli("evaluate"))
    at_risk_dining = {"segments": ["dining"], "lifecycleStages": ["AT_RISK"]}
    count = await _ok(app, SEGMENT_COUNT, {"filter": at_risk_dining}, admin)
    assert count["totalCount"] == AUDIENCE
    await _ok(
        app,
        SAVE_SEGMENT,
        {"input": {"name": "dining, at risk", "filter": at_risk_dining}},
        marketer,
    )

    # a campaign to the segment with a 10% control group
    campaign = (
        await _ok(
            app,
            CREATE_CAMPAIGN,
            {
                "input": {
                    "name": "回来吃饭",
                    "segment": "dining, at risk",
                    "channel": "SMS",
                    "template": "{name}，本周来用餐立减 20 元。",
                    "goal": "REACTIVATION",
                    "goalWindowDays": 30,
                    "controlPercent": 10,
                }
            },
            marketer,
        )
    )["campaign"]
    launched = await _ok(
        app,
        LAUNCH,
        {"input": {"campaignId": campaign["id"], "version": campaign["version"]}},
        marketer,
    )
    assert launched["audience"] == AUDIENCE
    assert 0 < launched["control"] < AUDIENCE // 4
    consenting_reached = launched["messaged"]
    assert launched["noConsent"] + consenting_reached + launched["control"] == AUDIENCE
    assert launched["delayed"] > 0

    # the development sender records the due messages only: consenting, outside DND
    _cli_ok(await fresh_database.run_cli("messages", "send"))
    outbox = fresh_database.settings.var_dir / "outbox" / "messages.jsonl"
    recorded = [json.loads(line) for line in outbox.read_text().splitlines()]
    by_id = {from_global_id(c["id"])[1]: c for c in customers}
    outcomes = await _recipients(app)
    reached = [key for key, outcome in outcomes.items() if outcome == RecipientOutcome.MESSAGED]
    control = [key for key, outcome in outcomes.items() if outcome == RecipientOutcome.CONTROL]
    sent = await _sent_to(app)
    assert len(recorded) == len(sent) == consenting_reached - launched["delayed"]
    assert all(by_id[key]["sms"] and not by_id[key]["dnd"] for key in sent)
    assert {key for key in reached if not by_id[key]["dnd"]} == set(sent)
    assert not any(by_id[key]["sms"] for key, o in outcomes.items() if o == "no_consent")

    # goal events: every other reached customer dines again, nobody of the control group
    comeback = [by_id[key]["card"] for key in reached[::2]]
    _cli_ok(
        await fresh_database.run_cli(
            "import",
            "transactions",
            str(_purchases(tmp_path / "back.csv", comeback, datetime.now(UTC))),
        )
    )
    results = (await app.graphql(RESULTS, {"id": campaign["id"]}, token=marketer))["data"]
    figures = results["campaign"]["results"]
    assert figures["treatment"] == {
        "size": len(reached),
        "reached": len(comeback),
        "rate": pytest.approx(len(comeback) / len(reached)),
    }
    assert figures["controlGroup"]["size"] == len(control)
    assert figures["controlGroup"]["reached"] == 0
    lift = figures["lift"]
    assert lift["value"] == pytest.approx(len(comeback) / len(reached))
    assert lift["low"] < lift["value"] < lift["high"]

    # tasks generate queues retention calls with the churn reasons for the branch's agent
    today = datetime.now(ZONE).date().isoformat()
    _cli_ok(await fresh_database.run_cli("tasks", "generate", "--as-of", today))
    tasks = await _ok(app, MY_TASKS, {"filter": {"kind": "RETENTION"}}, agent)
    ours = [
        edge["node"]
        for edge in tasks["edges"]
        if from_global_id(edge["node"]["customer"]["id"])[1] in by_id
    ]
    assert len(ours) == AUDIENCE
    assert all(any("no transaction" in reason for reason in task["reasons"]) for task in ours)
    # the agent calls a customer who is outside any do-not-disturb window
    task = next(t for t in ours if not by_id[from_global_id(t["customer"]["id"])[1]]["dnd"])
    done = await _ok(
        app,
        COMPLETE_TASK,
        {
            "input": {
                "taskId": task["id"],
                "version": task["version"],
                "channel": "PHONE",
                "outcome": "REACHED",
                "notes": "客户表示下周会再来",
            }
        },
        agent,
    )
    assert done["task"]["status"] == "DONE"
    assert done["task"]["interactionId"]

    # a complaint the agent resolves brings a survey; the customer's answer moves NPS
    before = (await app.graphql(SERVICE_NPS, {"range": window}, token=admin))["data"]
    assert before["analytics"]["service"]["nps"]["responses"] == 0
    complainer = customers[1]
    complainer_token = _customer_token(app, complainer["id"])
    filed = (
        await _ok(
            app,
            FILE_COMPLAINT,
            {"input": {"description": "年费扣错了", "category": "FEES"}},
            complainer_token,
        )
    )["complaint"]
    agent_id = (await app.graphql(VIEWER, token=agent))["data"]["viewer"]["id"]
    supervisor = await _staff_token(app, "demo-supervisor")
    step = (
        await _ok(
            app,
            ASSIGN_COMPLAINT,
            {"input": {"id": filed["id"], "version": filed["version"], "assigneeId": agent_id}},
            supervisor,
        )
    )["complaint"]
    for name in ("acknowledgeComplaint", "startComplaintWork"):
        step = (
            await _ok(
                app,
                COMPLAINT_STEP.format(name=name),
                {"input": {"id": step["id"], "version": step["version"]}},
                agent,
            )
        )["complaint"]
    await _ok(
        app,
        RESOLVE_COMPLAINT,
        {"input": {"id": step["id"], "version": step["version"], "resolution": "已退还年费"}},
        agent,
    )
    (survey,) = (await app.graphql(MY_SURVEYS, token=complainer_token))["data"]["mySurveys"]
    assert survey["complaintId"] == filed["id"]
    answered = await _ok(
        app, ANSWER, {"input": {"surveyId": survey["id"], "score": 10}}, complainer_token
    )
    assert answered["survey"]["score"] == 10
    after = (await app.graphql(SERVICE_NPS, {"range": window}, token=admin))["data"]
    assert after["analytics"]["service"]["nps"] == {
        "responses": 1,
        "promoters": 1,
        "detractors": 0,
        "score": pytest.approx(100.0),
    }

    # service stars: the agent sees their own row with the day's work
    stars = await app.graphql(STAFF_STARS, {"range": window}, token=agent)
    assert "errors" not in stars, stars
    (row,) = stars["data"]["analytics"]["staff"]
    assert from_global_id(row["staff"]["id"])[1] == from_global_id(agent_id)[1]
    assert row["tasksDone"] == row["tasksDoneOnTime"] == 1
    assert row["complaintsResolved"] == 1
    assert row["nps"]["responses"] == 1
    assert row["atRiskCustomers"] >= AUDIENCE
    assert row["interactions"] >= 1


async def _recipients(server: Server) -> dict[str, str]:
    """Each audience member's launch outcome (messaged, control, no consent), by customer."""
    async with server.state.database.session() as session:
        rows = await session.execute(
            select(col(CampaignRecipient.customer_id), col(CampaignRecipient.outcome))
        )
        return {str(customer): outcome for customer, outcome in rows.all()}


async def _sent_to(server: Server) -> list[str]:
    """The customers whose campaign message went out."""
    async with server.state.database.session() as session:
        rows = await session.scalars(
            select(col(OutboundMessage.customer_id)).where(
                col(OutboundMessage.status) == MessageStatus.SENT.value
            )
        )
        return [str(customer) for customer in rows.all()]
