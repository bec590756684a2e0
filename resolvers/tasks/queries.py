"""Reading the task queue in the caller's scope: one task, a filtered page.

Tasks are staff-only (``tasks:read``): an agent sees the tasks assigned to them, a
supervisor their branch's (assigned or not, so unassigned and overdue ones are in sight),
admins and auditors every branch's. Customers, marketers, risk officers and merchants hold
no ``tasks:read``, so nothing is theirs. Outside the scope a task does not exist (NOT_FOUND).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, false, true
from sqlmodel import col, select

from core.identity import Principal, Role, Scope
from core.request_database import RequestDatabase
from core.settings import Settings
from models.columns import utcnow
from models.tasks.task import StaffTask, TaskKind, TaskStatus
from resolvers.pagination import Page, PageArgs, SortDirection, page_with_count

TASK_NOT_FOUND = "no task with this id is visible to you"


def task_scope(principal: Principal) -> ColumnElement[bool]:
    """The tasks a caller may read (see the module doc)."""
    if not principal.is_staff or not principal.has(Scope.TASKS_READ):
        return false()
    if principal.role in (Role.ADMIN, Role.AUDITOR):
        return true()
    if principal.role is Role.SUPERVISOR:
        if principal.branch_id is None:
            return false()
        return col(StaffTask.branch_id) == principal.branch_id
    return own_tasks(principal)


def own_tasks(principal: Principal) -> ColumnElement[bool]:
    if principal.staff_id is None or not principal.has(Scope.TASKS_READ):
        return false()
    return col(StaffTask.assignee_id) == principal.staff_id


def local_day(settings: Settings, at: datetime) -> date:
    """The bank's local day of an instant."""
    return at.astimezone(ZoneInfo(settings.contact_timezone)).date()


def bank_today(settings: Settings) -> date:
    """The bank's local day, by which a task is overdue."""
    return local_day(settings, utcnow())


def is_overdue(task: StaffTask, today: date) -> bool:
    return task.status == TaskStatus.OPEN and task.due_on < today


@dataclass(frozen=True)
class TaskFilter:
    kind: TaskKind | None = None
    status: TaskStatus | None = None
    assignee_id: uuid.UUID | None = None
    unassigned: bool | None = None
    overdue: bool | None = None
    due_from: date | None = None
    due_to: date | None = None
    customer_id: uuid.UUID | None = None


def task_conditions(filter: TaskFilter, today: date) -> list[Any]:
    equal = {
        StaffTask.kind: filter.kind,
        StaffTask.status: filter.status,
        StaffTask.assignee_id: filter.assignee_id,
        StaffTask.customer_id: filter.customer_id,
    }
    conditions: list[Any] = [col(c) == v for c, v in equal.items() if v is not None]
    if filter.unassigned is not None:
        assignee = col(StaffTask.assignee_id)
        conditions.append(assignee.is_(None) if filter.unassigned else assignee.is_not(None))
    if filter.overdue is not None:
        late = (col(StaffTask.status) == TaskStatus.OPEN) & (col(StaffTask.due_on) < today)
        conditions.append(late if filter.overdue else ~late)
    if filter.due_from is not None:
        conditions.append(col(StaffTask.due_on) >= filter.due_from)
    if filter.due_to is not None:
        conditions.append(col(StaffTask.due_on) <= filter.due_to)
    return conditions


async def list_tasks(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    filter: TaskFilter,
    page: PageArgs,
    mine: bool = False,
) -> tuple[Page[StaffTask], Callable[[], Awaitable[int]]]:
    """A page of tasks in scope (``mine``: assigned to the caller), oldest first (the order
    they came in), and their count (if asked for)."""
    scope = own_tasks(principal) if mine else task_scope(principal)
    return await page_with_count(
        db,
        StaffTask,
        [scope, *task_conditions(filter, bank_today(settings))],
        sort_col=col(StaffTask.created_at),
        id_col=col(StaffTask.id),
        args=page.validated(settings.default_page_size, settings.max_page_size),
        direction=SortDirection.ASC,
    )


async def visible_tasks(
    db: RequestDatabase, principal: Principal, task_ids: list[uuid.UUID]
) -> list[StaffTask]:
    """The tasks of ``task_ids`` in the caller's scope (for ``taskAssigned``)."""
    rows = await db.scalars(
        select(StaffTask).where(col(StaffTask.id).in_(task_ids), task_scope(principal))
    )
    return list(rows)
