"""Working a staff task: completing it (with the interaction it was), and reassigning it.

Both lock the task (PostgreSQL), take back the ``version`` the caller read (CONFLICT if it
changed), refuse a task that is no longer open (CONFLICT), bump the version and write one
audit entry in the same transaction.

- ``complete_task``: the agent it is assigned to, or a supervisor of its branch, or an admin.
  The interaction is written by the service desk's writer (its contact rules: a retention or
  reactivation call is marketing, so it needs the customer's consent on the channel and
  respects their do-not-disturb window; its notes sealed), then the task is DONE and points
  at it.
- ``reassign_task``: a supervisor within their branch, an admin any; the assignee must be an
  active agent of the task's branch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.encryption import KeyRing
from core.errors import BadUserInput, Conflict, Forbidden, NotFound
from core.identity import Principal, Role
from core.settings import Settings
from models.organisation.organisation import StaffUser
from models.service_desk.interaction import InteractionChannel, InteractionKind
from models.tasks.task import StaffTask, TaskKind, TaskStatus
from resolvers.service_desk.interactions import Direction, NewInteraction, write_interaction
from resolvers.tasks.assignment import AGENT_ROLE
from resolvers.tasks.queries import TASK_NOT_FOUND, local_day, task_scope

COMPLETE_ACTION = "task.complete"
REASSIGN_ACTION = "task.reassign"
_COMPLETERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT})
_ASSIGNERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
# The interaction a task's call is logged as: its contact rules follow the kind.
INTERACTION_KINDS = {
    TaskKind.COMPLAINT_FOLLOW_UP: InteractionKind.FOLLOW_UP,
    TaskKind.NEW_CARD_FOLLOW_UP: InteractionKind.FOLLOW_UP,
    TaskKind.BIRTHDAY_CARE: InteractionKind.CARE,
    TaskKind.HOLIDAY_CARE: InteractionKind.CARE,
    TaskKind.RETENTION: InteractionKind.MARKETING,
    TaskKind.REACTIVATION: InteractionKind.MARKETING,
    TaskKind.REPAYMENT_REMINDER: InteractionKind.COLLECTION_REMINDER,
}
SUBJECTS = {
    TaskKind.COMPLAINT_FOLLOW_UP: "Follow-up after a resolved complaint",
    TaskKind.NEW_CARD_FOLLOW_UP: "Follow-up on a new card",
    TaskKind.BIRTHDAY_CARE: "Birthday greeting",
    TaskKind.HOLIDAY_CARE: "Holiday greeting",
    TaskKind.RETENTION: "Retention call",
    TaskKind.REACTIVATION: "Reactivation call",
    TaskKind.REPAYMENT_REMINDER: "Repayment reminder call",
}


class TaskOutcome(StrEnum):
    REACHED = "reached"
    OFFER_ACCEPTED = "offer_accepted"
    DECLINED = "declined"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"


async def _open_task(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, version: int
) -> StaffTask:
    task = await session.scalar(
        select(StaffTask)
        .where(col(StaffTask.id) == task_id, task_scope(principal))
        .with_for_update()
    )
    if task is None:
        raise NotFound(TASK_NOT_FOUND, field="taskId")
    if task.status != TaskStatus.OPEN:
        raise Conflict(f"the task is {task.status}, no longer open", field="taskId")
    if task.version != version:
        raise Conflict(
            f"the task changed since you read it (version {task.version}, not {version}); "
            "reload it",
            field="version",
        )
    return task


async def _fresh(session: AsyncSession, task_id: uuid.UUID) -> StaffTask:
    task = await session.get(StaffTask, task_id, populate_existing=True)
    assert task is not None
    return task


@dataclass(frozen=True)
class Completion:
    task_id: uuid.UUID
    version: int
    channel: InteractionChannel
    outcome: TaskOutcome
    notes: str | None = None


async def complete_task(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    principal: Principal,
    data: Completion,
    audit_event: Callable[..., AuditEvent],
    now: datetime,
) -> StaffTask:
    if principal.role not in _COMPLETERS:
        raise Forbidden("only agents, supervisors and admins complete tasks")
    task = await _open_task(session, principal, data.task_id, data.version)
    kind = TaskKind(task.kind)
    interaction = await write_interaction(
        session=session,
        ring=ring,
        settings=settings,
        principal=principal,
        data=NewInteraction(
            customer_id=task.customer_id,
            channel=data.channel,
            direction=Direction.OUTBOUND,
            kind=INTERACTION_KINDS[kind],
            subject=SUBJECTS[kind],
            notes=data.notes,
            outcome=data.outcome.value,
            complaint_id=task.complaint_id,
            occurred_at=now,
        ),
    )
    task.status = TaskStatus.DONE
    task.interaction_id = interaction.id
    task.completed_at = now
    task.completed_by = principal.staff_id
    task.version += 1
    task.updated_at = now
    await audit.record_and_commit(
        session,
        audit_event(
            COMPLETE_ACTION,
            target_type="StaffTask",
            target_id=str(task.id),
            details={
                "kind": kind.value,
                "outcome": data.outcome.value,
                "channel": data.channel.value,
                "interaction": str(interaction.id),
                "on_time": local_day(settings, now) <= task.due_on,
            },
        ),
    )
    return await _fresh(session, task.id)


async def reassign_task(
    *,
    session: AsyncSession,
    principal: Principal,
    task_id: uuid.UUID,
    version: int,
    assignee_id: uuid.UUID,
    audit_event: Callable[..., AuditEvent],
    now: datetime,
) -> StaffTask:
    if principal.role not in _ASSIGNERS:
        raise Forbidden("only a supervisor (their branch) or an admin reassigns tasks")
    task = await _open_task(session, principal, task_id, version)
    assignee = await session.get(StaffUser, assignee_id)
    if (
        assignee is None
        or not assignee.is_active
        or assignee.role != AGENT_ROLE
        or assignee.branch_id != task.branch_id
    ):
        raise BadUserInput(
            "the assignee must be an active agent of the task's branch", field="assigneeId"
        )
    previous = task.assignee_id
    task.assignee_id = assignee.id
    task.version += 1
    task.updated_at = now
    await audit.record_and_commit(
        session,
        audit_event(
            REASSIGN_ACTION,
            target_type="StaffTask",
            target_id=str(task.id),
            fields=["assignee"],
            details={"from": str(previous) if previous else None, "to": str(assignee.id)},
        ),
    )
    return await _fresh(session, task.id)
