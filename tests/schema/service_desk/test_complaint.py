"""The complaint workflow over HTTP: filing, every action, SLA, scope, versions, replays."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.support import World, add_customer, add_staff

COMPLAINT_FIELDS = """
  id status severity version dueAt createdAt isOverdue allowedActions description resolution
  satisfaction reopenCount escalationLevel assignee { id role }
  timeline { action fromStatus toStatus note actorKind }
"""
FILE = f"""
mutation File($input: FileComplaintInput!) {{
  fileComplaint(input: $input) {{ complaint {{ {COMPLAINT_FIELDS} }} userErrors {{ field code message }} }}
}}
"""
ACTION = """
mutation Act($input: ComplaintActionInput!) {{
  {name}(input: $input) {{ complaint {{ {fields} }} userErrors {{ field code message }} }}
}}
"""
ASSIGN = f"""
mutation Assign($input: AssignComplaintInput!) {{
  assignComplaint(input: $input) {{ complaint {{ {COMPLAINT_FIELDS} }} userErrors {{ field code message }} }}
}}
"""
ESCALATE = f"""
mutation Escalate($input: EscalateComplaintInput!) {{
  escalateComplaint(input: $input) {{ complaint {{ {COMPLAINT_FIELDS} }} userErrors {{ field code message }} }}
}}
"""
RESOLVE = f"""
mutation Resolve($input: ResolveComplaintInput!) {{
  resolveComplaint(input: $input) {{ complaint {{ {COMPLAINT_FIELDS} }} userErrors {{ field code message }} }}
}}
"""
REOPEN = f"""
mutation Reopen($input: ReopenComplaintInput!) {{
  reopenComplaint(input: $input) {{ complaint {{ {COMPLAINT_FIELDS} }} userErrors {{ field code message }} }}
}}
"""
RATE = f"""
mutation Rate($input: RateComplaintInput!) {{
  rateComplaint(input: $input) {{ complaint {{ {COMPLAINT_FIELDS} }} userErrors {{ field code message }} }}
}}
"""
ONE = f"query One($id: ID!) {{ complaint(id: $id) {{ {COMPLAINT_FIELDS} }} }}"


def _payload(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    result: dict[str, Any] = payload
    return result


async def _ok(server: Server, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    payload = _payload(await server.graphql(query, variables, token=token))
    assert payload["userErrors"] == [], payload
    complaint: dict[str, Any] = payload["complaint"]
    return complaint


async def _act(
    server: Server, name: str, complaint: dict[str, Any], token: str, note: str | None = None
) -> dict[str, Any]:
    query = ACTION.format(name=name, fields=COMPLAINT_FIELDS)
    variables = {"input": {"id": complaint["id"], "version": complaint["version"], "note": note}}
    return _payload(await server.graphql(query, variables, token=token))


async def _filed_by_alice(
    server: Server, world: World, description: str = "多扣了年费"
) -> dict[str, Any]:
    token = customer_token(server, world.alice.id)
    return await _ok(
        server, FILE, {"input": {"description": description, "category": "FEES"}}, token
    )


def _agent_gid(world: World, username: str = "demo-agent") -> str:
    return to_global_id("StaffMember", world.staff[username].id)


async def test_the_workflow_runs_from_filing_to_closed_with_every_step_on_the_timeline(
    server: Server, world: World
) -> None:
    customer = customer_token(server, world.alice.id)
    supervisor = staff_token(server, world, "demo-supervisor")
    agent = staff_token(server, world, "demo-agent")

    filed = await _filed_by_alice(server, world)
    assert (filed["status"], filed["severity"], filed["version"]) == ("OPEN", "MEDIUM", 1)
    assigned = await _ok(
        server,
        ASSIGN,
        {
            "input": {
                "id": filed["id"],
                "version": 1,
                "assigneeId": _agent_gid(world),
                "note": "请跟进",
            }
        },
        supervisor,
    )
    acknowledged = (await _act(server, "acknowledgeComplaint", assigned, agent))["complaint"]
    started = (await _act(server, "startComplaintWork", acknowledged, agent))["complaint"]
    resolved = await _ok(
        server,
        RESOLVE,
        {"input": {"id": started["id"], "version": started["version"], "resolution": "已退还年费"}},
        agent,
    )
    rated = await _ok(
        server,
        RATE,
        {"input": {"id": resolved["id"], "version": resolved["version"], "score": 5}},
        customer,
    )
    closed = (await _act(server, "closeComplaint", rated, supervisor))["complaint"]

    assert closed["status"] == "CLOSED"
    assert closed["version"] == 7
    assert closed["satisfaction"] == 5
    assert closed["resolution"] == "已退还年费"  # the supervisor handles it: clear
    assert [(e["action"], e["fromStatus"], e["toStatus"]) for e in closed["timeline"]] == [
        ("FILE", None, "OPEN"),
        ("ASSIGN", "OPEN", "OPEN"),
        ("ACKNOWLEDGE", "OPEN", "ACKNOWLEDGED"),
        ("START_WORK", "ACKNOWLEDGED", "IN_PROGRESS"),
        ("RESOLVE", "IN_PROGRESS", "RESOLVED"),
        ("RATE", "RESOLVED", "RESOLVED"),
        ("CLOSE", "RESOLVED", "CLOSED"),
    ]
    assert closed["timeline"][1]["note"] == "请跟进"
    assert closed["timeline"][0]["actorKind"] == "customer"


async def test_an_illegal_transition_names_the_current_state_and_the_allowed_actions(
    server: Server, world: World
) -> None:
    filed = await _filed_by_alice(server, world)
    payload = _payload(
        await server.graphql(
            RESOLVE,
            {"input": {"id": filed["id"], "version": 1, "resolution": "x"}},
            token=staff_token(server, world, "demo-supervisor"),
        )
    )
    assert payload["complaint"] is None
    (error,) = payload["userErrors"]
    assert error["code"] == "CONFLICT"
    assert "open" in error["message"]
    assert "allowed next: acknowledge, assign, escalate" in error["message"]


async def test_a_stale_version_is_a_conflict_and_writes_nothing(
    server: Server, world: World
) -> None:
    supervisor = staff_token(server, world, "demo-supervisor")
    filed = await _filed_by_alice(server, world)
    await _act(server, "acknowledgeComplaint", filed, supervisor)
    stale = await _act(server, "acknowledgeComplaint", filed, supervisor)  # still version 1
    assert stale["userErrors"][0]["code"] == "CONFLICT"
    assert stale["userErrors"][0]["field"] == "version"
    current = (await server.graphql(ONE, {"id": filed["id"]}, token=supervisor))["data"][
        "complaint"
    ]
    assert len(current["timeline"]) == 2
    assert current["version"] == 2


async def test_a_replayed_idempotency_key_creates_one_complaint(
    server: Server, world: World
) -> None:
    token = customer_token(server, world.alice.id)
    key = uuid.uuid4().hex
    variables = {"input": {"description": "卡片被盗刷 " + key}}
    first = await server.post(FILE, variables, token=token, headers={"Idempotency-Key": key})
    again = await server.post(FILE, variables, token=token, headers={"Idempotency-Key": key})
    other = await server.post(
        FILE, {"input": {"description": "different"}}, token=token, headers={"Idempotency-Key": key}
    )
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    page = await server.graphql(
        "{ complaints(first: 100) { edges { node { description } } } }", token=token
    )
    descriptions = [e["node"]["description"] for e in page["data"]["complaints"]["edges"]]
    assert descriptions.count("卡片被盗刷 " + key) == 1


async def test_a_channel_longer_than_its_column_is_refused_naming_the_field(
    server: Server, world: World
) -> None:
    # The channel is kept in clear in a VARCHAR(16): PostgreSQL refused a longer one in the
    # driver, and the caller got INTERNAL_SERVER_ERROR.
    variables = {"input": {"description": "多扣了年费", "channel": "x" * 17}}
    body = await server.graphql(FILE, variables, token=customer_token(server, world.alice.id))
    assert _payload(body) == {
        "complaint": None,
        "userErrors": [
            {
                "field": "channel",
                "code": "BAD_USER_INPUT",
                "message": "channel may be at most 16 characters",
            }
        ],
    }


async def test_the_sla_follows_severity_capped_by_the_tiers_service_level(
    server: Server, world: World
) -> None:
    # Demo tiers' serviceLevelHours: standard 72, gold (Alice) 24, platinum 12.
    supervisor = staff_token(server, world, "demo-supervisor")
    standard = await add_customer(server.state, world, tier="standard", seed=37)
    platinum = await add_customer(server.state, world, tier="platinum", seed=31)
    for customer_id, severity, hours in (
        (standard, "CRITICAL", 24),
        (standard, "HIGH", 72),
        (standard, "LOW", 72),
        (world.alice.id, "CRITICAL", 24),
        (world.alice.id, "LOW", 24),
        (platinum, "HIGH", 12),
    ):
        filed = await _ok(
            server,
            FILE,
            {
                "input": {
                    "description": "SLA",
                    "severity": severity,
                    "customerId": to_global_id("Customer", customer_id),
                }
            },
            supervisor,
        )
        span = datetime.fromisoformat(filed["dueAt"]) - datetime.fromisoformat(filed["createdAt"])
        assert span == timedelta(hours=hours), (severity, span)
        assert filed["isOverdue"] is False


async def test_escalation_raises_severity_and_reaches_the_supervisor(
    server: Server, world: World
) -> None:
    agent = staff_token(server, world, "demo-agent")
    filed = await _filed_by_alice(server, world)
    lower = _payload(
        await server.graphql(
            ESCALATE,
            {"input": {"id": filed["id"], "version": 1, "note": "n", "severity": "LOW"}},
            token=agent,
        )
    )
    assert lower["userErrors"][0]["code"] == "BAD_USER_INPUT"
    escalated = await _ok(
        server,
        ESCALATE,
        {
            "input": {
                "id": filed["id"],
                "version": 1,
                "note": "客户情绪激动",
                "severity": "CRITICAL",
                "toSupervisor": True,
            }
        },
        agent,
    )
    assert escalated["severity"] == "CRITICAL"
    assert escalated["escalationLevel"] == 1
    assert escalated["assignee"]["role"] == "SUPERVISOR"
    span = datetime.fromisoformat(escalated["dueAt"]) - datetime.fromisoformat(
        escalated["createdAt"]
    )
    assert span == timedelta(hours=24)


async def test_rating_is_the_customers_once_and_only_after_resolution(
    server: Server, world: World
) -> None:
    customer = customer_token(server, world.alice.id)
    supervisor = staff_token(server, world, "demo-supervisor")
    filed = await _filed_by_alice(server, world)
    early = _payload(
        await server.graphql(
            RATE, {"input": {"id": filed["id"], "version": 1, "score": 4}}, token=customer
        )
    )
    assert early["userErrors"][0]["code"] == "CONFLICT"
    step = (await _act(server, "acknowledgeComplaint", filed, supervisor))["complaint"]
    step = (await _act(server, "startComplaintWork", step, supervisor))["complaint"]
    step = await _ok(
        server,
        RESOLVE,
        {"input": {"id": step["id"], "version": step["version"], "resolution": "ok"}},
        supervisor,
    )
    by_staff = _payload(
        await server.graphql(
            RATE,
            {"input": {"id": step["id"], "version": step["version"], "score": 4}},
            token=supervisor,
        )
    )
    assert by_staff["userErrors"][0]["code"] == "FORBIDDEN"
    out_of_range = _payload(
        await server.graphql(
            RATE,
            {"input": {"id": step["id"], "version": step["version"], "score": 6}},
            token=customer,
        )
    )
    assert out_of_range["userErrors"][0]["code"] == "BAD_USER_INPUT"
    rated = await _ok(
        server,
        RATE,
        {"input": {"id": step["id"], "version": step["version"], "score": 4}},
        customer,
    )
    twice = _payload(
        await server.graphql(
            RATE,
            {"input": {"id": rated["id"], "version": rated["version"], "score": 1}},
            token=customer,
        )
    )
    assert twice["userErrors"][0]["code"] == "CONFLICT"
    reopened = await _ok(
        server,
        REOPEN,
        {"input": {"id": rated["id"], "version": rated["version"], "reason": "问题依旧"}},
        customer,
    )
    assert (reopened["status"], reopened["reopenCount"]) == ("IN_PROGRESS", 1)


async def test_customers_may_not_work_a_complaint(server: Server, world: World) -> None:
    filed = await _filed_by_alice(server, world)
    payload = await _act(
        server, "acknowledgeComplaint", filed, customer_token(server, world.alice.id)
    )
    assert payload["userErrors"][0]["code"] == "FORBIDDEN"


async def test_agents_see_their_assigned_and_their_branchs_unassigned_complaints(
    server: Server, world: World
) -> None:
    supervisor = staff_token(server, world, "demo-supervisor")
    other_agent = await add_staff(server.state, world, role="agent", branch="BJ-CY")
    unassigned = await _filed_by_alice(server, world)
    theirs = await _filed_by_alice(server, world)
    await _ok(
        server,
        ASSIGN,
        {
            "input": {
                "id": theirs["id"],
                "version": 1,
                "assigneeId": to_global_id("StaffMember", other_agent.id),
            }
        },
        supervisor,
    )
    demo_agent = staff_token(server, world, "demo-agent")
    assert (await server.graphql(ONE, {"id": unassigned["id"]}, token=demo_agent))["data"][
        "complaint"
    ]
    hidden = await server.graphql(ONE, {"id": theirs["id"]}, token=demo_agent)
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    other_branch = await server.graphql(
        ONE, {"id": unassigned["id"]}, token=staff_token(server, world, "demo-agent-b")
    )
    assert other_branch["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    marketer = await server.graphql(
        ONE, {"id": unassigned["id"]}, token=staff_token(server, world, "demo-marketer")
    )
    # Without complaints:read at all: refused whatever the id, which tells nothing of it.
    assert marketer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_free_text_is_masked_for_oversight_roles(server: Server, world: World) -> None:
    filed = await _filed_by_alice(server, world, description="我的账单有问题")
    expectations = {
        "demo-admin": "******",
        "demo-auditor": "******",
        "demo-supervisor": "我的账单有问题",
        "demo-agent": "我的账单有问题",
    }
    for username, expected in expectations.items():
        body = await server.graphql(
            ONE, {"id": filed["id"]}, token=staff_token(server, world, username)
        )
        assert body["data"]["complaint"]["description"] == expected, username


async def test_an_assignee_outside_the_branch_is_refused(server: Server, world: World) -> None:
    filed = await _filed_by_alice(server, world)
    payload = _payload(
        await server.graphql(
            ASSIGN,
            {
                "input": {
                    "id": filed["id"],
                    "version": 1,
                    "assigneeId": _agent_gid(world, "demo-agent-b"),
                }
            },
            token=staff_token(server, world, "demo-supervisor"),
        )
    )
    assert payload["userErrors"][0] == {
        "field": "assigneeId",
        "code": "BAD_USER_INPUT",
        "message": "assigneeId must be an agent or supervisor of the complaint's branch",
    }
    agent_assigns = _payload(
        await server.graphql(
            ASSIGN,
            {"input": {"id": filed["id"], "version": 1, "assigneeId": _agent_gid(world)}},
            token=staff_token(server, world, "demo-agent"),
        )
    )
    assert agent_assigns["userErrors"][0]["code"] == "FORBIDDEN"


PAGE = """
query Page($first: Int, $assignee: ID) {
  complaints(first: $first, filter: {assigneeId: $assignee}) {
    totalCount
    edges { node { id status customer { name tier { code } } assignee { displayName }
      timeline { action note } } }
  }
}
"""


async def test_a_page_of_complaints_costs_the_same_statements_whatever_its_size(
    server: Server, world: World
) -> None:
    supervisor = staff_token(server, world, "demo-supervisor")
    for _ in range(6):
        filed = await _filed_by_alice(server, world)
        await _ok(
            server,
            ASSIGN,
            {"input": {"id": filed["id"], "version": 1, "assigneeId": _agent_gid(world)}},
            supervisor,
        )
    token = staff_token(server, world, "demo-admin")
    warm_up = {"first": 1, "assignee": _agent_gid(world)}
    await server.graphql(PAGE, warm_up, token=token)  # the tier catalogue, fresh
    counts = []
    for size in (1, 3, 6):
        variables = {"first": size, "assignee": _agent_gid(world)}
        body, statements = await server.count_statements(PAGE, variables, token=token)
        assert "errors" not in body, body
        assert len(body["data"]["complaints"]["edges"]) == size
        counts.append(statements)
    # complaints + count + customers + assignees + timelines, whatever the page size; the
    # tiers come from the process's catalogue (resolvers/growth/tier_catalogue.py)
    assert counts == [5, 5, 5]


async def test_filters_find_overdue_and_by_status(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-supervisor")
    body = await server.graphql(
        "{ complaints(first: 100, filter: {status: OPEN, overdue: false}) { edges { node { status isOverdue } } } }",
        token=token,
    )
    nodes = [e["node"] for e in body["data"]["complaints"]["edges"]]
    assert nodes
    assert all(n == {"status": "OPEN", "isOverdue": False} for n in nodes)


async def test_node_resolves_a_complaint_within_scope_only(server: Server, world: World) -> None:
    filed = await _filed_by_alice(server, world)
    query = "query($id: ID!) { node(id: $id) { id ... on Complaint { status } } }"
    mine = await server.graphql(
        query, {"id": filed["id"]}, token=customer_token(server, world.bob.id)
    )
    assert mine["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    seen = await server.graphql(
        query, {"id": filed["id"]}, token=staff_token(server, world, "demo-supervisor")
    )
    assert seen["data"]["node"] == {"id": filed["id"], "status": "OPEN"}


CUSTOMER_COMPLAINTS = """
query Theirs($id: ID!, $status: ComplaintStatus) {
  customer(id: $id) {
    id
    complaints(first: 50, filter: {status: $status}) {
      totalCount edges { node { id status customer { id } } }
    }
  }
}
"""
BY_CUSTOMER = """
query ByCustomer($filter: ComplaintFilter) {
  complaints(first: 50, filter: $filter) { totalCount edges { node { id customer { id } } } }
}
"""


async def test_a_customers_complaints_are_theirs_within_the_callers_complaint_scope(
    server: Server, world: World
) -> None:
    """Customer.complaints and complaints(filter: {customerId}) list the same complaints:
    that customer's, as far as the caller may see complaints at all."""
    mine = await _filed_by_alice(server, world, description="挂失后仍被扣款")
    bob = customer_token(server, world.bob.id)
    await _ok(server, FILE, {"input": {"description": "卡被吞了", "category": "OTHER"}}, bob)
    alice_id = to_global_id("Customer", world.alice.id)

    for username in ("demo-supervisor", "demo-admin", "demo-agent"):
        token = staff_token(server, world, username)
        nested = await server.graphql(CUSTOMER_COMPLAINTS, {"id": alice_id}, token=token)
        filtered = await server.graphql(
            BY_CUSTOMER, {"filter": {"customerId": alice_id}}, token=token
        )

        assert "errors" not in nested, nested
        connection = nested["data"]["customer"]["complaints"]
        ids = {edge["node"]["id"] for edge in connection["edges"]}
        assert {edge["node"]["customer"]["id"] for edge in connection["edges"]} == {alice_id}
        assert connection["totalCount"] == len(ids)
        assert ids == {edge["node"]["id"] for edge in filtered["data"]["complaints"]["edges"]}
        assert mine["id"] in ids  # unassigned in her branch: agents see it too

    open_only = await server.graphql(
        CUSTOMER_COMPLAINTS,
        {"id": alice_id, "status": "OPEN"},
        token=staff_token(server, world, "demo-supervisor"),
    )
    statuses = {e["node"]["status"] for e in open_only["data"]["customer"]["complaints"]["edges"]}
    assert statuses == {"OPEN"}
    own = await server.graphql(
        "{ me { complaints(first: 50) { edges { node { id } } } } }",
        token=customer_token(server, world.alice.id),
    )
    assert mine["id"] in {e["node"]["id"] for e in own["data"]["me"]["complaints"]["edges"]}


PAGE_OF_COMPLAINTS = """
query Page($first: Int) {
  customers(first: $first) {
    edges { node { id complaints(first: 3) { totalCount edges { node { id } } } } }
  }
}
"""


async def test_a_page_of_customers_gets_its_complaints_in_the_same_few_statements(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    await server.graphql(PAGE_OF_COMPLAINTS, {"first": 2}, token=token)  # warm caches

    _, few_statements = await server.count_statements(PAGE_OF_COMPLAINTS, {"first": 2}, token=token)
    many, many_statements = await server.count_statements(
        PAGE_OF_COMPLAINTS, {"first": 25}, token=token
    )

    assert "errors" not in many, many
    assert len(many["data"]["customers"]["edges"]) == 25
    assert any(e["node"]["complaints"]["totalCount"] for e in many["data"]["customers"]["edges"])
    assert many_statements == few_statements, (few_statements, many_statements)
