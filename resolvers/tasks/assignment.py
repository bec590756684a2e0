"""Who works a task: a set-based round robin per branch over its active agents, the agent
with the fewest open tasks first; a branch without one keeps its tasks unassigned, where its
supervisors see them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, and_, func, literal, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.columns import UTCDateTime
from models.organisation.organisation import StaffUser
from models.tasks.task import StaffTask, TaskStatus

TASKS: Table = StaffTask.__table__  # type: ignore[attr-defined]
STAFF: Table = StaffUser.__table__  # type: ignore[attr-defined]
AGENT_ROLE = "agent"


async def assign_open_tasks(session: AsyncSession, now: datetime) -> int:
    """Assigns every open unassigned task to an active agent of its branch (uncommitted):
    per branch, the agents ordered by their open tasks (fewest first) take the tasks (by due
    date) in turn. Returns how many were assigned."""
    t, s = TASKS.c, STAFF.c
    load = (
        select(t.assignee_id, func.count().label("open"))
        .where(t.status == TaskStatus.OPEN.value, t.assignee_id.is_not(None))
        .group_by(t.assignee_id)
        .subquery("load")
    )
    agents = (
        select(
            s.id.label("agent_id"),
            s.branch_id,
            (
                func.row_number().over(
                    partition_by=s.branch_id, order_by=(func.coalesce(load.c.open, 0), s.id)
                )
                - 1
            ).label("slot"),
            func.count().over(partition_by=s.branch_id).label("seats"),
        )
        .select_from(STAFF.outerjoin(load, load.c.assignee_id == s.id))
        .where(s.role == AGENT_ROLE, s.is_active == true(), s.branch_id.is_not(None))
        .subquery("agents")
    )
    pending = (
        select(
            t.id.label("task_id"),
            t.branch_id,
            (func.row_number().over(partition_by=t.branch_id, order_by=(t.due_on, t.id)) - 1).label(
                "turn"
            ),
        )
        .where(t.assignee_id.is_(None), t.status == TaskStatus.OPEN.value)
        .subquery("pending")
    )
    picks = (
        select(pending.c.task_id, agents.c.agent_id)
        .join(
            agents,
            and_(
                agents.c.branch_id == pending.c.branch_id,
                agents.c.slot == pending.c.turn % agents.c.seats,
            ),
        )
        .subquery("picks")
    )
    result = await session.execute(
        update(TASKS)
        .where(t.id == picks.c.task_id)
        .values(assignee_id=picks.c.agent_id, updated_at=literal(now, UTCDateTime))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
