"""Service stars (``analytics { staff(range, branch) }``) over HTTP.

Given a fresh agent who logged interactions, completed and neglected tasks, resolved
complaints (one past its SLA) whose surveys were answered, and was given retention calls,
when staff read the service stars of the range, then the agent's row counts exactly that;
agents see only their own row, supervisors their branch's staff, admins and auditors every
branch's (or the one named); marketers, risk officers, customers and merchants are refused;
and the figures take the same number of statements however many staff are listed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import col

from core.identity import Role
from models.customers.customer import Customer, LifecycleStage
from models.organisation.organisation import StaffUser
from models.service_desk.complaint import Complaint
from models.tasks.task import StaffTask, TaskKind, TaskStatus
from resolvers.customers.input import Consent
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.resolvers.outreach.survey_support import resolved_complaint, surveys_of
from tests.support import DEMO_STAFF, World, add_customer, add_staff
from tests.support_offers import add_merchant, merchant_token

STARS = """
query($range: DateRangeInput!, $branch: ID) {
  analytics { staff(range: $range, branch: $branch) {
    staff { id role } branchId interactions csatMean csatCount tasksDone tasksDoneOnTime
    tasksOverdue complaintsResolved complaintsResolvedWithinSla
    nps { responses promoters passives detractors score }
    atRiskCustomers retained retentionRate
  } }
}
"""
LOG = """
mutation($input: LogInteractionInput!) { logInteraction(input: $input) { userErrors { code } } }
"""
ANSWER = "mutation($i: AnswerSurveyInput!) { answerSurvey(input: $i) { userErrors { code } } }"


def _token(server: Server, user: StaffUser) -> str:
    return server.state.tokens.issue(
        subject=str(user.id),
        role=Role(user.role),
        client_id="cardcrm-console",
        branch_id=user.branch_id,
        username=user.username,
    )


def _range() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
    }


async def _stars(
    server: Server, token: str, branch: str | None = None
) -> tuple[list[dict[str, Any]] | None, list[Any]]:
    body = await server.graphql(STARS, {"range": _range(), "branch": branch}, token=token)
    analytics = body["data"]["analytics"]
    return (None if analytics is None else analytics["staff"]), body.get("errors", [])


def _row(rows: list[dict[str, Any]], user: StaffUser) -> dict[str, Any]:
    (row,) = [r for r in rows if r["staff"]["id"] == to_global_id("StaffMember", user.id)]
    return row


async def _log_interactions(server: Server, world: World, token: str) -> None:
    for satisfaction in (4, 2, None):
        variables = {
            "input": {
                "customerId": to_global_id("Customer", world.alice.id),
                "channel": "PHONE",
                "direction": "OUTBOUND",
                "kind": "FOLLOW_UP",
                "subject": "回访",
                "satisfaction": satisfaction,
            }
        }
        body = await server.graphql(LOG, variables, token=token)
        assert body["data"]["logInteraction"]["userErrors"] == [], body


async def _resolve_and_survey(server: Server, world: World, agent: StaffUser) -> None:
    """Two complaints resolved by the agent, one past its deadline; answers 10 and 5."""
    for late, score in ((False, 10), (True, 5)):
        customer_id = await add_customer(server.state, world, consent=Consent(push=True))
        complaint = await resolved_complaint(
            server.state, customer_id, staff_id=agent.id, branch_id=world.branches["BJ-CY"].id
        )
        if late:
            async with server.state.database.session() as session:
                await session.execute(
                    update(Complaint)
                    .where(col(Complaint.id) == complaint.id)
                    .values(due_at=complaint.created_at - timedelta(minutes=1))
                )
                await session.commit()
        (survey,) = await surveys_of(server.state, complaint.id)
        answered = await server.graphql(
            ANSWER,
            {"i": {"surveyId": to_global_id("Survey", survey.id), "score": score}},
            token=customer_token(server, customer_id),
        )
        assert answered["data"]["answerSurvey"]["userErrors"] == []


def _task(
    world: World, agent: StaffUser, customer_id: uuid.UUID, kind: TaskKind, due_on: date
) -> StaffTask:
    return StaffTask(
        kind=kind.value,
        customer_id=customer_id,
        branch_id=world.branches["BJ-CY"].id,
        assignee_id=agent.id,
        due_on=due_on,
        source_key=f"test:{kind.value}:{uuid.uuid4()}",
    )


async def _tasks(server: Server, world: World, agent: StaffUser) -> None:
    """Done on time, done late, open and overdue, open not yet due; and retention calls for a
    customer still at risk (two tasks) and one who is active again."""
    today = datetime.now(ZoneInfo(server.state.settings.contact_timezone)).date()
    now = datetime.now(UTC)
    still_at_risk = await add_customer(server.state, world)
    won_back = await add_customer(server.state, world)
    follow_up = TaskKind.COMPLAINT_FOLLOW_UP
    done = {
        "status": TaskStatus.DONE.value,
        "completed_at": now,
        "completed_by": agent.id,
    }
    rows = [
        _task(world, agent, world.alice.id, follow_up, today + timedelta(days=1)),
        _task(world, agent, world.alice.id, follow_up, today - timedelta(days=2)),
        _task(world, agent, world.alice.id, follow_up, today - timedelta(days=3)),
        _task(world, agent, world.alice.id, follow_up, today + timedelta(days=5)),
        _task(world, agent, still_at_risk, TaskKind.RETENTION, today + timedelta(days=5)),
        _task(world, agent, still_at_risk, TaskKind.RETENTION, today + timedelta(days=6)),
        _task(world, agent, won_back, TaskKind.RETENTION, today + timedelta(days=5)),
    ]
    for row in rows[:2]:
        for name, value in done.items():
            setattr(row, name, value)
    async with server.state.database.session() as session:
        session.add_all(rows)
        for customer_id, stage in (
            (still_at_risk, LifecycleStage.AT_RISK),
            (won_back, LifecycleStage.ACTIVE),
        ):
            await session.execute(
                update(Customer)
                .where(col(Customer.id) == customer_id)
                .values(lifecycle_stage=stage.value)
            )
        await session.commit()


@pytest.fixture(scope="module")
async def star(server: Server, world: World) -> StaffUser:
    """A fresh agent of branch BJ-CY with a known record in the range."""
    agent = await add_staff(server.state, world, role="agent", branch="BJ-CY")
    await _log_interactions(server, world, _token(server, agent))
    await _resolve_and_survey(server, world, agent)
    await _tasks(server, world, agent)
    return agent


async def test_an_agents_row_counts_their_work_of_the_range(
    server: Server, world: World, star: StaffUser
) -> None:
    rows, errors = await _stars(server, staff_token(server, world, "demo-supervisor"))
    assert errors == []
    assert rows is not None
    assert _row(rows, star) == {
        "staff": {"id": to_global_id("StaffMember", star.id), "role": "AGENT"},
        "branchId": to_global_id("Branch", world.branches["BJ-CY"].id),
        "interactions": 3,
        "csatMean": 3.0,
        "csatCount": 2,
        "tasksDone": 2,
        "tasksDoneOnTime": 1,
        "tasksOverdue": 1,
        "complaintsResolved": 2,
        "complaintsResolvedWithinSla": 1,
        "nps": {"responses": 2, "promoters": 1, "passives": 0, "detractors": 1, "score": 0.0},
        "atRiskCustomers": 2,
        "retained": 1,
        "retentionRate": 0.5,
    }


async def test_an_agent_sees_only_their_own_row(
    server: Server, world: World, star: StaffUser
) -> None:
    rows, errors = await _stars(server, _token(server, star))
    assert errors == []
    assert rows is not None
    assert [row["staff"]["id"] for row in rows] == [to_global_id("StaffMember", star.id)]
    assert rows[0]["interactions"] == 3

    demo, _ = await _stars(server, staff_token(server, world, "demo-agent"))
    assert demo is not None
    assert [row["staff"]["id"] for row in demo] == [
        to_global_id("StaffMember", world.staff["demo-agent"].id)
    ]


async def test_an_agent_or_supervisor_naming_another_branch_is_forbidden(
    server: Server, world: World, star: StaffUser
) -> None:
    shanghai = to_global_id("Branch", world.branches["SH-PD"].id)
    for token in (_token(server, star), staff_token(server, world, "demo-supervisor")):
        body = await server.graphql(STARS, {"range": _range(), "branch": shanghai}, token=token)
        assert body["data"]["analytics"]["staff"] is None
        (error,) = body["errors"]
        assert (error["path"], error["extensions"]["code"]) == (
            ["analytics", "staff"],
            "FORBIDDEN",
        )


async def test_a_supervisor_sees_their_branch_and_admins_every_branch_or_the_one_named(
    server: Server, world: World, star: StaffUser
) -> None:
    star_id = to_global_id("StaffMember", star.id)
    other = to_global_id("StaffMember", world.staff["demo-agent-b"].id)
    beijing = to_global_id("Branch", world.branches["BJ-CY"].id)

    branch, _ = await _stars(server, staff_token(server, world, "demo-supervisor"))
    assert branch is not None
    assert star_id in [r["staff"]["id"] for r in branch]
    assert other not in [r["staff"]["id"] for r in branch]
    assert {r["branchId"] for r in branch} == {beijing}

    for role in ("admin", "auditor"):
        everyone, _ = await _stars(server, staff_token(server, world, DEMO_STAFF[role]))
        assert everyone is not None
        assert {star_id, other} <= {r["staff"]["id"] for r in everyone}
        shanghai = to_global_id("Branch", world.branches["SH-PD"].id)
        named, _ = await _stars(server, staff_token(server, world, DEMO_STAFF[role]), shanghai)
        assert named is not None
        assert other in [r["staff"]["id"] for r in named]
        assert star_id not in [r["staff"]["id"] for r in named]


@pytest.mark.parametrize("role", ["marketer", "risk_officer"])
async def test_marketers_and_risk_officers_are_refused(
    server: Server, world: World, role: str
) -> None:
    rows, errors = await _stars(server, staff_token(server, world, DEMO_STAFF[role]))
    assert rows is None
    assert [(e["path"], e["extensions"]["code"]) for e in errors] == [
        (["analytics", "staff"], "FORBIDDEN")
    ]


async def test_customers_and_merchants_reach_no_analytics_at_all(
    server: Server, world: World
) -> None:
    merchant = merchant_token(server.state, await add_merchant(server.state, "星级商户"))
    for token in (customer_token(server, world.alice.id), merchant):
        body = await server.graphql(STARS, {"range": _range()}, token=token)
        assert body["data"]["analytics"] is None
        assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
            (["analytics"], "FORBIDDEN")
        ]


async def test_agents_reach_service_stars_but_not_the_other_kpis(
    server: Server, world: World
) -> None:
    query = """
    query($range: DateRangeInput!) { analytics { service(range: $range) { complaintCount } } }
    """
    body = await server.graphql(
        query, {"range": _range()}, token=staff_token(server, world, "demo-agent")
    )
    assert body["data"]["analytics"]["service"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_figures_take_the_same_statements_however_many_staff_are_listed(
    server: Server, world: World, star: StaffUser
) -> None:
    admin = staff_token(server, world, "demo-admin")
    counts = []
    for _ in range(2):
        body, statements = await server.count_statements(STARS, {"range": _range()}, token=admin)
        assert "errors" not in body, body
        counts.append((len(body["data"]["analytics"]["staff"]), statements))
        for _ in range(3):
            await add_staff(server.state, world, role="agent", branch="SH-PD")
    (few, before), (more, after) = counts
    assert more == few + 3
    assert before == after
