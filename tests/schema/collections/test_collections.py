"""The collection queue over HTTP, per role: who lists which cases (branch scope, staff
only), who sees the amounts and the contact notes, who assigns and who logs contacts, with
versions, the contact rules, audit entries, and a page's statements whatever its size."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import col

from models.audit.audit import AuditEntry
from models.collections.case import CollectionContact
from models.service_desk.interaction import Interaction
from schema.relay import to_global_id
from tests.conftest import Server
from tests.schema.cards.support_limits import staff
from tests.schema.collections.support import (
    ASSIGN,
    LIST,
    LOG,
    OpenCase,
    error_of,
    open_case,
    payload,
    queue,
)
from tests.support import World, add_staff
from tests.support_offers import add_merchant, merchant_token

NOTE = "客户称下周一还款"


def _ids(body: dict[str, Any]) -> list[str]:
    assert "errors" not in body, body
    return [edge["node"]["id"] for edge in body["data"]["collectionCases"]["edges"]]


@pytest.fixture
def open_hours(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """No quiet hours, whatever the wall clock says (the rules have their own tests)."""
    monkeypatch.setattr(server.state.settings, "collection_quiet_start", time(0))
    monkeypatch.setattr(server.state.settings, "collection_quiet_end", time(0))


def _tomorrow() -> str:
    zone = ZoneInfo("Asia/Shanghai")
    return (datetime.now(UTC).astimezone(zone).date() + timedelta(days=1)).isoformat()


async def _log(server: Server, case: OpenCase, token: str, version: int, **more: Any) -> Any:
    fields = {"caseId": case.id, "version": version, "channel": "PHONE", "outcome": "REACHED"}
    return payload(await server.graphql(LOG, {"input": {**fields, **more}}, token=token))


async def test_the_queue_is_staff_only_and_scoped_by_branch(server: Server, world: World) -> None:
    bj = await open_case(server, world, "BJ-CY")
    sh = await open_case(server, world, "SH-PD")
    merchant = merchant_token(server.state, await add_merchant(server.state))
    sees = {
        "admin": (True, True),
        "risk_officer": (True, True),
        "auditor": (True, True),
        "supervisor": (True, False),
        "agent": (True, False),
        "agent_b": (False, True),
    }
    for role, (in_bj, in_sh) in sees.items():
        token = staff(server, world, role)
        assert bool(_ids(await queue(server, token, bj.holder.card))) is in_bj, role
        assert bool(_ids(await queue(server, token, sh.holder.card))) is in_sh, role
    for token in (staff(server, world, "marketer"), bj.holder.token, merchant):
        body = await queue(server, token, bj.holder.card)
        assert body["data"]["collectionCases"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    body = await queue(server, staff(server, world, "agent"), bj.holder.card)
    [node] = [edge["node"] for edge in body["data"]["collectionCases"]["edges"]]
    assert node["id"] == bj.id
    assert (node["status"], node["bucket"], node["openingBucket"], node["daysPastDue"]) == (
        "OPEN",
        "M1",
        "M1",
        11,
    )
    assert (node["overdueAmount"], node["promiseAmount"], node["version"]) == ("100.00", None, 1)
    assert node["card"]["id"] == bj.holder.card
    assert node["customer"]["id"] == to_global_id("Customer", bj.holder.id)
    assert (node["assignee"], node["contacts"]) == (None, [])


async def test_a_supervisor_assigns_within_their_branch(server: Server, world: World) -> None:
    case = await open_case(server, world, "BJ-CY")
    agent = world.staff["demo-agent"]
    other_branch = world.staff["demo-agent-b"]
    supervisor = staff(server, world, "supervisor")

    def assign(assignee: Any, version: int = 1) -> dict[str, Any]:
        return {
            "input": {
                "caseId": case.id,
                "assigneeId": to_global_id("StaffMember", assignee.id),
                "version": version,
            }
        }

    wrong = payload(await server.graphql(ASSIGN, assign(other_branch), token=supervisor))
    assert error_of(wrong) == ("assigneeId", "BAD_USER_INPUT")
    for role in ("agent", "risk_officer", "auditor", "marketer"):
        refused = payload(
            await server.graphql(ASSIGN, assign(agent), token=staff(server, world, role))
        )
        assert error_of(refused)[1] == "FORBIDDEN", role
    sh_supervisor = await add_staff(server.state, world, role="supervisor", branch="SH-PD")
    from tests.conftest import staff_token

    world.staff[sh_supervisor.username] = sh_supervisor
    elsewhere = staff_token(server, world, sh_supervisor.username)
    assert error_of(payload(await server.graphql(ASSIGN, assign(agent), token=elsewhere))) == (
        "caseId",
        "NOT_FOUND",
    )

    done = payload(await server.graphql(ASSIGN, assign(agent), token=supervisor))
    assert done["userErrors"] == []
    assert done["case"]["version"] == 2
    assert done["case"]["assignee"]["id"] == to_global_id("StaffMember", agent.id)
    stale = payload(await server.graphql(ASSIGN, assign(agent), token=supervisor))
    assert error_of(stale) == ("version", "CONFLICT")
    by_admin = payload(
        await server.graphql(ASSIGN, assign(agent, 2), token=staff(server, world, "admin"))
    )
    assert by_admin["case"]["version"] == 3

    filtered = await server.graphql(
        LIST,
        {
            "filter": {"assignee": to_global_id("StaffMember", agent.id), "bucket": "M1"},
            "first": 20,
        },
        token=supervisor,
    )
    assert case.id in _ids(filtered)
    async with server.state.database.session() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(col(AuditEntry.target_id) == str(case.row_id))
            )
        )
    assert actions == ["collection.assign", "collection.assign"]


async def test_an_agent_logs_a_promise_and_the_notes_follow_the_policy(
    server: Server, world: World, open_hours: None
) -> None:
    case = await open_case(server, world, "BJ-CY")
    agent = staff(server, world, "agent")
    tomorrow = _tomorrow()

    missing = await _log(server, case, agent, 1, outcome="PROMISE_TO_PAY")
    assert error_of(missing) == ("promiseAmount", "BAD_USER_INPUT")
    past = await _log(
        server,
        case,
        agent,
        1,
        outcome="PROMISE_TO_PAY",
        promiseAmount="100",
        promiseDate="2020-01-01",
    )
    assert error_of(past) == ("promiseDate", "BAD_USER_INPUT")
    for role in ("admin", "risk_officer", "auditor", "marketer"):
        refused = await _log(server, case, staff(server, world, role), 1)
        assert error_of(refused)[1] == "FORBIDDEN", role
    assert error_of(await _log(server, case, case.holder.token, 1))[1] == "FORBIDDEN"
    assert error_of(await _log(server, case, staff(server, world, "agent_b"), 1)) == (
        "caseId",
        "NOT_FOUND",
    )

    done = await _log(
        server,
        case,
        agent,
        1,
        outcome="PROMISE_TO_PAY",
        promiseAmount="100.00",
        promiseDate=tomorrow,
        notes=NOTE,
        channel="PHONE",
    )
    assert done["userErrors"] == [], done
    promised = done["case"]
    assert (promised["status"], promised["version"]) == ("PROMISED", 2)
    assert (promised["promiseAmount"], promised["promiseDate"]) == ("100.00", tomorrow)
    assert promised["lastContactAt"] is not None
    [contact] = promised["contacts"]
    assert (contact["outcome"], contact["promiseAmount"], contact["notes"]) == (
        "PROMISE_TO_PAY",
        "100.00",
        NOTE,
    )
    assert contact["staff"]["id"] == to_global_id("StaffMember", world.staff["demo-agent"].id)
    assert error_of(await _log(server, case, agent, 1)) == ("version", "CONFLICT")

    for role, clear in (
        ("supervisor", True),
        ("agent", True),
        ("admin", False),
        ("risk_officer", False),
        ("auditor", False),
    ):
        body = await queue(server, staff(server, world, role), case.holder.card)
        [node] = [edge["node"] for edge in body["data"]["collectionCases"]["edges"]]
        notes = node["contacts"][0]["notes"]
        assert (notes == NOTE) is clear, (role, notes)
        assert notes, role
        assert node["overdueAmount"] == "100.00", role

    async with server.state.database.session() as session:
        [row] = list(
            await session.scalars(
                select(CollectionContact).where(col(CollectionContact.case_id) == case.row_id)
            )
        )
        interaction = await session.get(Interaction, row.interaction_id)
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(col(AuditEntry.target_id) == str(case.row_id))
            )
        )
    assert interaction is not None
    assert interaction.kind == "collection"
    assert actions == ["collection.contact"]


async def test_a_contact_the_rules_refuse_writes_nothing(
    server: Server, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = await open_case(server, world, "BJ-CY")
    # Quiet all day long: whatever the wall clock, the contact falls in the quiet hours.
    monkeypatch.setattr(server.state.settings, "collection_quiet_start", time(0))
    monkeypatch.setattr(server.state.settings, "collection_quiet_end", time(23, 59, 59, 999999))
    refused = await _log(server, case, staff(server, world, "agent"), 1, notes=NOTE)
    assert error_of(refused) == (None, "CONTACT_NOT_ALLOWED")
    body = await queue(server, staff(server, world, "agent"), case.holder.card)
    [node] = [edge["node"] for edge in body["data"]["collectionCases"]["edges"]]
    assert (node["version"], node["contacts"], node["lastContactAt"]) == (1, [], None)


PAGE = """
query Page($first: Int, $filter: CollectionCaseFilter) {
  collectionCases(first: $first, filter: $filter) {
    edges { node { id overdueAmount card { id last4 } customer { id } assignee { id }
      contacts(first: 3) { outcome notes staff { id } } } }
  }
}
"""


async def test_a_page_of_cases_costs_the_same_statements_whatever_its_size(
    server: Server, world: World, open_hours: None
) -> None:
    agent_b = staff(server, world, "agent_b")
    for _ in range(6):
        case = await open_case(server, world, "SH-PD")
        assert (await _log(server, case, agent_b, 1, notes=NOTE))["userErrors"] == []
    token = staff(server, world, "risk_officer")
    variables: dict[str, Any] = {"first": 1, "filter": {"status": "OPEN", "bucket": "M1"}}
    await server.graphql(PAGE, variables, token=token)  # warm-up
    counts = []
    for size in (1, 3, 6):
        body, statements = await server.count_statements(
            PAGE, {**variables, "first": size}, token=token
        )
        assert "errors" not in body, body
        edges = body["data"]["collectionCases"]["edges"]
        assert len(edges) == size
        assert all(edge["node"]["contacts"] for edge in edges)
        counts.append(statements)
    # cases + cards + customers + contacts + interactions + staff, whatever the page size
    assert counts[0] == counts[1] == counts[2]
    assert counts[0] <= 7


REMINDERS = """
query Reminders($card: ID!) {
  repaymentReminders(first: 5, filter: {cardId: $card}) {
    edges { node { id dueDate remindOn channel riskGrade status minimumPayment card { id } } }
  }
}
"""


async def test_repayment_reminders_are_listed_to_branch_staff_only(
    server: Server, world: World
) -> None:
    from datetime import date

    from models.collections.reminder import RepaymentReminder
    from schema.relay import from_global_id

    case = await open_case(server, world, "BJ-CY")
    async with server.state.database.session() as session:
        session.add(
            RepaymentReminder(
                card_id=uuid.UUID(from_global_id(case.holder.card)[1]),
                cycle_end=date(2026, 1, 15),
                customer_id=case.holder.id,
                branch_id=case.branch_id,
                due_date=date(2026, 2, 4),
                remind_on=date(2026, 2, 1),
                channel="push",
                minimum_payment_cents=3_000,
                risk_grade="D",
            )
        )
        await session.commit()
    merchant = merchant_token(server.state, await add_merchant(server.state))
    variables = {"card": case.holder.card}
    for role, listed in (
        ("admin", True),
        ("supervisor", True),
        ("agent", True),
        ("risk_officer", True),
        ("auditor", True),
        ("agent_b", False),
    ):
        body = await server.graphql(REMINDERS, variables, token=staff(server, world, role))
        assert "errors" not in body, (role, body)
        edges = body["data"]["repaymentReminders"]["edges"]
        assert bool(edges) is listed, role
        if listed:
            node = edges[0]["node"]
            assert (node["remindOn"], node["channel"], node["riskGrade"]) == (
                "2026-02-01",
                "push",
                "D",
            )
            assert (node["minimumPayment"], node["status"]) == ("30.00", "PLANNED")
            assert node["card"]["id"] == case.holder.card
    for token in (staff(server, world, "marketer"), case.holder.token, merchant):
        body = await server.graphql(REMINDERS, variables, token=token)
        assert body["data"]["repaymentReminders"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_contact_sent_again_with_its_idempotency_key_is_logged_once(
    server: Server, world: World, open_hours: None
) -> None:
    case = await open_case(server, world, "BJ-CY")
    agent = staff(server, world, "agent")
    variables = {
        "input": {
            "caseId": case.id,
            "version": 1,
            "channel": "SMS",
            "outcome": "NO_ANSWER",
            "notes": NOTE,
        }
    }
    headers = {"Idempotency-Key": f"contact-{case.row_id}"}
    first = await server.graphql(LOG, variables, token=agent, headers=headers)
    again = await server.graphql(LOG, variables, token=agent, headers=headers)
    assert payload(first)["userErrors"] == []
    assert again == first
    async with server.state.database.session() as session:
        contacts = list(
            await session.scalars(
                select(CollectionContact).where(col(CollectionContact.case_id) == case.row_id)
            )
        )
    assert len(contacts) == 1
