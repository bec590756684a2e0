"""Staff tasks for the schema tests: agents of their own (so queues start empty) and tasks
written as the generation would write them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.identity import Role
from models.organisation.organisation import StaffUser
from models.tasks.task import StaffTask, TaskKind
from tests.conftest import Server
from tests.support import World, add_staff

ERRORS = "userErrors { field code message }"
TASK_FIELDS = """
  id kind status dueOn overdue reasons offerIds completedAt interactionId version
  customer { id } assignee { id displayName }
"""
MY_TASKS = f"""
query($first: Int, $filter: TaskFilter) {{
  myTasks(first: $first, filter: $filter) {{ totalCount edges {{ node {{ {TASK_FIELDS} }} }} }}
}}"""
TASKS = f"""
query($first: Int, $filter: TaskFilter) {{
  tasks(first: $first, filter: $filter) {{ totalCount edges {{ node {{ {TASK_FIELDS} }} }} }}
}}"""
COMPLETE = f"""
mutation($input: CompleteTaskInput!) {{
  completeTask(input: $input) {{ task {{ {TASK_FIELDS} }} {ERRORS} }}
}}"""
REASSIGN = f"""
mutation($input: ReassignTaskInput!) {{
  reassignTask(input: $input) {{ task {{ {TASK_FIELDS} }} {ERRORS} }}
}}"""


def bank_today() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()


def token_of(server: Server, user: StaffUser) -> str:
    return server.state.tokens.issue(
        subject=str(user.id),
        role=Role(user.role),
        client_id="cardcrm-console",
        branch_id=user.branch_id,
        username=user.username,
    )


async def new_agent(server: Server, world: World, branch: str = "BJ-CY") -> StaffUser:
    return await add_staff(server.state, world, role="agent", branch=branch)


async def add_task(
    server: Server,
    world: World,
    customer_id: uuid.UUID,
    *,
    assignee: StaffUser | None,
    branch: str = "BJ-CY",
    kind: TaskKind = TaskKind.BIRTHDAY_CARE,
    due_in_days: int = 0,
    **values: Any,
) -> StaffTask:
    task = StaffTask(
        kind=kind,
        customer_id=customer_id,
        branch_id=world.branches[branch].id,
        assignee_id=assignee.id if assignee else None,
        due_on=bank_today() + timedelta(days=due_in_days),
        source_key=f"test:{uuid.uuid4()}",
        **values,
    )
    async with server.state.database.session() as session:
        session.add(task)
        await session.commit()
        await session.refresh(task)
    return task


def nodes(body: dict[str, Any], root: str) -> list[dict[str, Any]]:
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"][root]["edges"]]


def payload(body: dict[str, Any], root: str) -> dict[str, Any]:
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"][root]
    return result


def error_of(result: dict[str, Any]) -> tuple[str | None, str]:
    [error] = result["userErrors"]
    return error["field"], error["code"]
