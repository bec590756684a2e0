"""The task queue: ``myTasks``, ``tasks`` and the mutations that work a task (each a thin
call into ``resolvers.tasks``); a reassignment tells ``taskAssigned`` once committed."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Scope
from models.columns import utcnow
from models.service_desk.interaction import InteractionChannel
from models.tasks.task import StaffTask as TaskRow
from models.tasks.task import TaskKind, TaskStatus
from resolvers.pagination import PageArgs
from resolvers.tasks import operations, queries
from resolvers.tasks.events import publish_assigned
from schema.common import UserError, mutation_payload, payload_field
from schema.described import described_argument, optional_field
from schema.relay import After, Connection, First, uuid_of
from schema.scope_field import scoped_field
from schema.tasks.task import Task

SCOPE = (
    "Staff only: an agent sees the tasks assigned to them, a supervisor their branch's, admins "
    "and auditors every branch's."
)
VERSION = "The task's `version` you last read; CONFLICT if it has changed since."
ERRORS = " userErrors: NOT_FOUND outside your scope, CONFLICT, FORBIDDEN, BAD_USER_INPUT."


@strawberry.input(description="Narrows the task queue.")
class TaskFilter:
    kind: TaskKind | None = optional_field("Only tasks of this kind.")
    status: TaskStatus | None = optional_field("Only tasks in this status.")
    assignee: strawberry.ID | None = optional_field("Only tasks assigned to this StaffMember ID.")
    unassigned: bool | None = optional_field(
        "true: only tasks assigned to nobody (no agent in the branch); false: only assigned ones."
    )
    overdue: bool | None = optional_field(
        "true: only open tasks due before today (the bank's local day); false: the others."
    )
    due_from: date | None = optional_field("Only tasks due on this day or later.")
    due_to: date | None = optional_field("Only tasks due on this day or earlier.")
    customer_id: strawberry.ID | None = optional_field("Only this customer's (a Customer ID).")

    def to_filter(self) -> queries.TaskFilter:
        return queries.TaskFilter(
            kind=self.kind,
            status=self.status,
            assignee_id=uuid_of(self.assignee, "StaffMember", field="filter.assignee")
            if self.assignee
            else None,
            unassigned=self.unassigned,
            overdue=self.overdue,
            due_from=self.due_from,
            due_to=self.due_to,
            customer_id=uuid_of(self.customer_id, "Customer", field="filter.customerId")
            if self.customer_id
            else None,
        )


@strawberry.input(description="A task done: the call made for it, now.")
class CompleteTaskInput:
    task_id: strawberry.ID = strawberry.field(description="The task (a `Task.id`).")
    version: int = strawberry.field(description=VERSION)
    channel: InteractionChannel = strawberry.field(description="How the customer was contacted.")
    outcome: operations.TaskOutcome = strawberry.field(description="What it came to.")
    notes: str | None = optional_field("Notes, at most 4,000 characters; stored encrypted.")


@strawberry.input(description="Who works a task.")
class ReassignTaskInput:
    task_id: strawberry.ID = strawberry.field(description="The task (a `Task.id`).")
    version: int = strawberry.field(description=VERSION)
    assignee_id: strawberry.ID = strawberry.field(
        description="An active agent of the task's branch (a `StaffMember.id`)."
    )


@strawberry.type(description="The outcome of a task mutation.")
class TaskPayload:
    task: Task | None = payload_field("The task as it is now; null when there are userErrors.")
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, row: TaskRow) -> TaskPayload:
        return cls(task=Task.from_row(row))


async def _page(
    info: Info, first: int | None, after: str | None, filter: TaskFilter | None, *, mine: bool
) -> Connection[Task]:
    page, count = await queries.list_tasks(
        db=info.context.db,
        principal=info.context.principal,
        settings=info.context.settings,
        filter=filter.to_filter() if filter else queries.TaskFilter(),
        page=PageArgs(first, after),
        mine=mine,
    )
    return Connection.build(page, Task.from_row, count)


@strawberry.type
class TaskQuery:
    @scoped_field(
        Scope.TASKS_READ,
        "Your task queue: the tasks assigned to you, oldest first.",
        staff_only=True,
    )
    async def my_tasks(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[TaskFilter | None, described_argument("Only the matching ones.")] = None,
    ) -> Connection[Task] | None:
        return await _page(info, first, after, filter, mine=True)

    @scoped_field(
        Scope.TASKS_READ,
        f"The task queue in your scope, oldest first; unassigned and overdue tasks included "
        f"(filter them with `unassigned`, `overdue`). {SCOPE}",
        staff_only=True,
    )
    async def tasks(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[TaskFilter | None, described_argument("Only the matching ones.")] = None,
    ) -> Connection[Task] | None:
        return await _page(info, first, after, filter, mine=False)


@strawberry.type
class TaskMutation:
    @scoped_field(
        Scope.TASKS_WRITE,
        "Completes a task: logs the call as an interaction (notes encrypted; a retention or "
        "reactivation call is marketing, so the customer's consent on the channel and their "
        "do-not-disturb window apply) and marks the task DONE, in one transaction; the agent "
        "it is assigned to, a supervisor of its branch, or an admin. Audited." + ERRORS,
        staff_only=True,
    )
    async def complete_task(
        self,
        info: Info,
        input: Annotated[CompleteTaskInput, described_argument("The call made.")],
    ) -> TaskPayload:
        async def write(session: AsyncSession, ctx: Context) -> TaskRow:
            return await operations.complete_task(
                session=session,
                ring=ctx.key_ring,
                settings=ctx.settings,
                principal=ctx.principal,
                data=operations.Completion(
                    task_id=uuid_of(input.task_id, "Task", field="taskId"),
                    version=input.version,
                    channel=input.channel,
                    outcome=input.outcome,
                    notes=input.notes,
                ),
                audit_event=events_by(ctx),
                now=utcnow(),
            )

        return await mutation_payload(info, TaskPayload, write, TaskPayload.of)

    @scoped_field(
        Scope.TASKS_WRITE,
        "Reassigns an open task to another agent: a supervisor within their branch, an admin "
        "any; the assignee must be an active agent of the task's branch; audited, and told to "
        "`taskAssigned`." + ERRORS,
        staff_only=True,
    )
    async def reassign_task(
        self,
        info: Info,
        input: Annotated[ReassignTaskInput, described_argument("The new assignee.")],
    ) -> TaskPayload:
        async def write(session: AsyncSession, ctx: Context) -> TaskRow:
            return await operations.reassign_task(
                session=session,
                principal=ctx.principal,
                task_id=uuid_of(input.task_id, "Task", field="taskId"),
                version=input.version,
                assignee_id=uuid_of(input.assignee_id, "StaffMember", field="assigneeId"),
                audit_event=events_by(ctx),
                now=utcnow(),
            )

        written: list[TaskRow] = []

        def done(row: TaskRow) -> TaskPayload:
            written.append(row)
            return TaskPayload.of(row)

        payload = await mutation_payload(info, TaskPayload, write, done)
        for row in written:  # committed by now
            await publish_assigned(info.context.state.broker, [(row.id, row.branch_id)])
        return payload
