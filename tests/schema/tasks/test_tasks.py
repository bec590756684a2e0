"""The task queue over HTTP, per role: an agent's own queue, a supervisor's branch, who is
refused; completing a task logs its interaction in the same transaction (the contact rules
apply), reassigning stays within the branch; versions, audit entries, and a page's
statements whatever its size."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlmodel import col

from models.audit.audit import AuditEntry
from models.customers.customer import Customer
from models.customers.identifiers import BIRTHDAY_INDEX
from models.service_desk.interaction import Interaction
from models.tasks.task import StaffTask, TaskKind
from resolvers.customers.input import Consent
from schema.relay import to_global_id
from tests.conftest import Server, customer_token
from tests.schema.cards.support_limits import staff
from tests.schema.tasks.support import (
    COMPLETE,
    MY_TASKS,
    REASSIGN,
    TASKS,
    add_task,
    error_of,
    new_agent,
    nodes,
    payload,
    token_of,
)
from tests.support import World, add_customer
from tests.support_offers import add_merchant, merchant_token

NOTE = "客户说生日快乐收到了"


def _gid(task: StaffTask) -> str:
    return to_global_id("Task", task.id)


async def test_an_agent_reads_their_own_queue_with_customer_assignee_and_reasons(
    server: Server, world: World
) -> None:
    agent = await new_agent(server, world)
    offer = uuid.uuid4()
    late = await add_task(
        server,
        world,
        world.alice.id,
        assignee=agent,
        kind=TaskKind.RETENTION,
        due_in_days=-2,
        reasons=["inactive"],
        offer_ids=[str(offer)],
    )
    await add_task(server, world, world.alice.id, assignee=agent, due_in_days=1)
    await add_task(server, world, world.alice.id, assignee=await new_agent(server, world))

    body = await server.graphql(MY_TASKS, {"first": 10}, token=token_of(server, agent))
    mine = nodes(body, "myTasks")
    assert body["data"]["myTasks"]["totalCount"] == 2
    first = mine[0]
    assert first["id"] == _gid(late)
    assert (first["kind"], first["status"], first["overdue"]) == ("RETENTION", "OPEN", True)
    assert first["reasons"] == ["inactive"]
    assert first["offerIds"] == [to_global_id("Offer", offer)]
    assert first["customer"]["id"] == to_global_id("Customer", world.alice.id)
    assert first["assignee"]["id"] == to_global_id("StaffMember", agent.id)
    assert mine[1]["overdue"] is False
    overdue = await server.graphql(
        MY_TASKS, {"filter": {"overdue": True}}, token=token_of(server, agent)
    )
    assert [node["id"] for node in nodes(overdue, "myTasks")] == [_gid(late)]
    # `tasks` for an agent is the same queue: their own, never a colleague's.
    theirs = await server.graphql(TASKS, {"first": 50}, token=token_of(server, agent))
    assert {node["id"] for node in nodes(theirs, "tasks")} == {node["id"] for node in mine}


async def test_customers_marketers_risk_officers_and_merchants_are_refused(
    server: Server, world: World
) -> None:
    merchant = merchant_token(server.state, await add_merchant(server.state))
    tokens = [
        staff(server, world, "marketer"),
        staff(server, world, "risk_officer"),
        customer_token(server, world.alice.id),
        merchant,
    ]
    for token in tokens:
        for query, root in ((MY_TASKS, "myTasks"), (TASKS, "tasks")):
            body = await server.graphql(query, {}, token=token)
            assert body["data"][root] is None
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    task = await add_task(server, world, world.alice.id, assignee=None)
    body = await server.graphql(
        COMPLETE,
        {"input": {"taskId": _gid(task), "version": 1, "channel": "PHONE", "outcome": "REACHED"}},
        token=customer_token(server, world.alice.id),
    )
    assert body["data"]["completeTask"]["userErrors"][0]["code"] == "FORBIDDEN"


async def test_a_supervisor_sees_their_branch_unassigned_and_overdue(
    server: Server, world: World
) -> None:
    unassigned = await add_task(
        server, world, world.alice.id, assignee=None, kind=TaskKind.HOLIDAY_CARE, due_in_days=-1
    )
    elsewhere = await add_task(
        server, world, world.bob.id, assignee=None, branch="SH-PD", kind=TaskKind.HOLIDAY_CARE
    )
    supervisor = staff(server, world, "supervisor")
    filter = {"unassigned": True, "kind": "HOLIDAY_CARE", "overdue": True}
    body = await server.graphql(TASKS, {"first": 100, "filter": filter}, token=supervisor)
    seen = {node["id"] for node in nodes(body, "tasks")}
    assert _gid(unassigned) in seen
    assert _gid(elsewhere) not in seen
    admin = await server.graphql(
        TASKS,
        {"first": 100, "filter": {"kind": "HOLIDAY_CARE"}},
        token=staff(server, world, "admin"),
    )
    assert {_gid(unassigned), _gid(elsewhere)} <= {node["id"] for node in nodes(admin, "tasks")}
    auditor = await server.graphql(TASKS, {"first": 1}, token=staff(server, world, "auditor"))
    assert nodes(auditor, "tasks")[0]["reasons"] is not None


async def test_completing_a_task_logs_its_interaction_and_is_audited(
    server: Server, world: World
) -> None:
    agent = await new_agent(server, world)
    task = await add_task(server, world, world.alice.id, assignee=agent)
    token = token_of(server, agent)
    fields = {"taskId": _gid(task), "channel": "SMS", "outcome": "REACHED", "notes": NOTE}

    stale = payload(
        await server.graphql(COMPLETE, {"input": {**fields, "version": 2}}, token=token),
        "completeTask",
    )
    assert error_of(stale) == ("version", "CONFLICT")
    done = payload(
        await server.graphql(COMPLETE, {"input": {**fields, "version": 1}}, token=token),
        "completeTask",
    )
    assert done["userErrors"] == []
    assert (done["task"]["status"], done["task"]["version"]) == ("DONE", 2)
    assert done["task"]["completedAt"] is not None
    again = payload(
        await server.graphql(COMPLETE, {"input": {**fields, "version": 2}}, token=token),
        "completeTask",
    )
    assert error_of(again) == ("taskId", "CONFLICT")
    other = await new_agent(server, world)
    hidden = payload(
        await server.graphql(
            COMPLETE, {"input": {**fields, "version": 2}}, token=token_of(server, other)
        ),
        "completeTask",
    )
    assert error_of(hidden) == ("taskId", "NOT_FOUND")
    async with server.state.database.session() as session:
        row = await session.get(StaffTask, task.id)
        assert row is not None
        interaction = await session.get(Interaction, row.interaction_id)
        entries = list(
            await session.scalars(
                select(AuditEntry).where(col(AuditEntry.target_id) == str(task.id))
            )
        )
    assert interaction is not None
    assert (interaction.kind, interaction.outcome, interaction.staff_id) == (
        "care",
        "reached",
        agent.id,
    )
    assert interaction.notes_enc is not None
    assert NOTE.encode() not in interaction.notes_enc
    assert done["task"]["interactionId"] == to_global_id("Interaction", interaction.id)
    assert [entry.action for entry in entries] == ["task.complete"]
    assert entries[0].details["on_time"] is True
    assert entries[0].details["interaction"] == str(interaction.id)


async def test_a_retention_call_without_consent_is_refused_and_nothing_is_written(
    server: Server, world: World
) -> None:
    agent = await new_agent(server, world)
    silent = await add_customer(server.state, world, consent=Consent())
    task = await add_task(server, world, silent, assignee=agent, kind=TaskKind.RETENTION)
    result = payload(
        await server.graphql(
            COMPLETE,
            {
                "input": {
                    "taskId": _gid(task),
                    "version": 1,
                    "channel": "PHONE",
                    "outcome": "REACHED",
                }
            },
            token=token_of(server, agent),
        ),
        "completeTask",
    )
    assert error_of(result) == ("channel", "BAD_USER_INPUT")
    async with server.state.database.session() as session:
        row = await session.get(StaffTask, task.id)
        logged = await session.scalar(
            select(col(Interaction.id)).where(col(Interaction.customer_id) == silent)
        )
    assert row is not None
    assert (row.status, row.version, row.interaction_id) == ("open", 1, None)
    assert logged is None


async def test_a_supervisor_reassigns_within_their_branch_only(
    server: Server, world: World
) -> None:
    agent, colleague = await new_agent(server, world), await new_agent(server, world)
    far = await new_agent(server, world, branch="SH-PD")
    task = await add_task(server, world, world.alice.id, assignee=agent)
    supervisor = staff(server, world, "supervisor")

    def moving(to: object, version: int = 1) -> dict[str, object]:
        assignee = to_global_id("StaffMember", to.id)  # type: ignore[attr-defined]
        return {"input": {"taskId": _gid(task), "version": version, "assigneeId": assignee}}

    wrong = payload(await server.graphql(REASSIGN, moving(far), token=supervisor), "reassignTask")
    assert error_of(wrong) == ("assigneeId", "BAD_USER_INPUT")
    refused = payload(
        await server.graphql(REASSIGN, moving(colleague), token=token_of(server, agent)),
        "reassignTask",
    )
    assert error_of(refused)[1] == "FORBIDDEN"
    moved = payload(
        await server.graphql(REASSIGN, moving(colleague), token=supervisor), "reassignTask"
    )
    assert moved["userErrors"] == []
    assert moved["task"]["assignee"]["id"] == to_global_id("StaffMember", colleague.id)
    assert moved["task"]["version"] == 2
    mine = await server.graphql(MY_TASKS, {}, token=token_of(server, colleague))
    assert [node["id"] for node in nodes(mine, "myTasks")] == [_gid(task)]
    async with server.state.database.session() as session:
        entry = await session.scalar(
            select(AuditEntry).where(
                col(AuditEntry.target_id) == str(task.id),
                col(AuditEntry.action) == "task.reassign",
            )
        )
    assert entry is not None
    assert entry.details == {"from": str(agent.id), "to": str(colleague.id)}


async def test_my_tasks_reads_customers_and_assignees_in_a_constant_number_of_statements(
    server: Server, world: World
) -> None:
    agent = await new_agent(server, world)
    for _ in range(6):
        customer = await add_customer(server.state, world)
        await add_task(server, world, customer, assignee=agent)
    token = token_of(server, agent)
    await server.graphql(MY_TASKS, {"first": 1}, token=token)  # warm-up
    counts = []
    for size in (1, 3, 6):
        body, statements = await server.count_statements(MY_TASKS, {"first": size}, token=token)
        edges = nodes(body, "myTasks")
        assert len(edges) == size
        assert all(edge["customer"]["id"] and edge["assignee"]["id"] for edge in edges)
        counts.append(statements)
    # tasks + count + customers + staff, whatever the page size
    assert counts[0] == counts[1] == counts[2], counts
    assert counts[0] <= 5, counts


async def test_customers_are_created_and_seeded_with_their_birthday_indexed(
    server: Server, world: World
) -> None:
    ring = server.state.key_ring
    async with server.state.database.session() as session:
        alice = await session.get(Customer, world.alice.id)
        seeded = await session.scalar(
            select(func.count()).where(col(Customer.birthday_bidx).is_not(None))
        )
    assert alice is not None
    assert alice.birthday_bidx == ring.blind_index(BIRTHDAY_INDEX, "03-07")
    assert seeded is not None
    assert seeded >= 20
