"""``generate``: the day's staff tasks, one per fact, assigned round robin to the branch's
active agents.

Given a branch with two active agents (and one inactive) and a branch with none, customers
whose birthday is the day (consenting or not), who turned at-risk or dormant in the window,
who were issued a card, had a complaint resolved, are due a phone reminder (and one by SMS),
on a holiday (1 October) for the gold tier, when ``generate`` runs, then each fact makes its
task with its due date, reasons and offers; the tasks of the agents' branch are shared
between the active agents; the other branch's stay unassigned; and a second run writes
nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from core.database import Database
from core.encryption import KeyRing
from models.tasks.task import StaffTask, TaskKind
from resolvers.tasks.generation import generate
from tests.models.conftest import FreshDatabase
from tests.resolvers.tasks.support import (
    customer,
    issued_card,
    offered,
    reminder,
    resolved_complaint,
    task_world,
    turned,
)

HOLIDAY = date(2026, 10, 1)


@pytest.fixture
async def database(fresh_database: FreshDatabase) -> AsyncIterator[tuple[Database, KeyRing]]:
    async with fresh_database.database() as database:
        yield database, await fresh_database.key_ring(database)


async def test_generate_makes_each_task_once_and_shares_them_between_active_agents(
    database: tuple[Database, KeyRing], fresh_database: FreshDatabase
) -> None:
    db, ring = database
    settings = fresh_database.settings
    async with db.session() as session:
        world = await task_world(session)
        branch, empty = world.branch, world.empty_branch
        birthday = await customer(
            session, ring, branch, world.gold, birthday=date(1990, 10, 1), consent_sms=True
        )
        await customer(session, ring, branch, world.standard, birthday=date(1985, 10, 1))
        at_risk = await customer(session, ring, branch, world.standard, stage="at_risk")
        await turned(session, at_risk, "at_risk", HOLIDAY - timedelta(days=2), ["inactive"])
        offer = await offered(session, at_risk, active=True)
        await offered(session, at_risk, active=False)
        recovered = await customer(session, ring, branch, world.standard, stage="active")
        await turned(session, recovered, "at_risk", HOLIDAY - timedelta(days=1), ["drop"])
        long_ago = await customer(session, ring, branch, world.standard, stage="at_risk")
        await turned(session, long_ago, "at_risk", HOLIDAY - timedelta(days=30), ["inactive"])
        dormant = await customer(session, ring, empty, world.standard, stage="dormant")
        await turned(session, dormant, "dormant", HOLIDAY, [])
        complained = await customer(session, ring, empty, world.standard)
        complaint = await resolved_complaint(session, complained, HOLIDAY - timedelta(days=3))
        card = await issued_card(session, birthday, HOLIDAY)
        phone = await reminder(session, card, birthday, HOLIDAY, "phone")
        await reminder(
            session, await issued_card(session, at_risk, date(2025, 1, 1)), at_risk, HOLIDAY, "sms"
        )
        await session.commit()

        first = await generate(session, settings, ring, HOLIDAY)
        await session.commit()
        second = await generate(session, settings, ring, HOLIDAY)
        await session.commit()
        tasks = list(await session.scalars(select(StaffTask).order_by(col(StaffTask.kind))))

    assert first.created == {
        TaskKind.COMPLAINT_FOLLOW_UP: 1,
        TaskKind.NEW_CARD_FOLLOW_UP: 1,
        TaskKind.BIRTHDAY_CARE: 1,
        TaskKind.HOLIDAY_CARE: 1,
        TaskKind.RETENTION: 1,
        TaskKind.REACTIVATION: 1,
        TaskKind.REPAYMENT_REMINDER: 1,
    }
    assert second.total == 0
    assert second.assigned == 0
    by_kind = {task.kind: task for task in tasks}
    retention = by_kind[TaskKind.RETENTION]
    assert retention.customer_id == at_risk.id
    assert retention.reasons == ["inactive"]
    assert [str(value).replace("-", "") for value in retention.offer_ids] == [offer.id.hex]
    assert retention.due_on == HOLIDAY - timedelta(days=2) + timedelta(days=3)
    follow_up = by_kind[TaskKind.COMPLAINT_FOLLOW_UP]
    assert (follow_up.complaint_id, follow_up.due_on) == (complaint.id, HOLIDAY)
    assert follow_up.assignee_id is None
    assert follow_up.branch_id == empty.id
    assert by_kind[TaskKind.REACTIVATION].assignee_id is None
    assert by_kind[TaskKind.NEW_CARD_FOLLOW_UP].due_on == HOLIDAY + timedelta(days=7)
    assert by_kind[TaskKind.REPAYMENT_REMINDER].reminder_id == phone.id
    assert by_kind[TaskKind.BIRTHDAY_CARE].customer_id == birthday.id
    assert by_kind[TaskKind.HOLIDAY_CARE].customer_id == birthday.id
    assert first.assigned == 5
    assert first.unassigned == 2
    load = Counter(task.assignee_id for task in tasks if task.branch_id == branch.id)
    assert set(load) == {agent.id for agent in world.agents}
    assert sorted(load.values()) == [2, 3]


async def test_a_new_agent_takes_the_open_tasks_first(
    database: tuple[Database, KeyRing], fresh_database: FreshDatabase
) -> None:
    """Given one agent already holding tasks, when another joins and more tasks come, the
    newcomer (fewest open tasks) is served first."""
    db, ring = database
    settings = fresh_database.settings
    async with db.session() as session:
        world = await task_world(session)
        busy, newcomer = world.agents
        newcomer.is_active = False
        for day in (1, 2):
            row = await customer(session, ring, world.branch, world.standard)
            await resolved_complaint(session, row, HOLIDAY - timedelta(days=day))
        await session.commit()
        await generate(session, settings, ring, HOLIDAY)
        newcomer.is_active = True
        row = await customer(session, ring, world.branch, world.standard)
        await resolved_complaint(session, row, HOLIDAY)
        await session.commit()
        later = await generate(session, settings, ring, HOLIDAY)
        await session.commit()
        tasks = list(await session.scalars(select(StaffTask)))
    assert later.created[TaskKind.COMPLAINT_FOLLOW_UP] == 1
    assert later.assigned == 1
    load = Counter(task.assignee_id for task in tasks)
    assert load == {busy.id: 2, newcomer.id: 1}
