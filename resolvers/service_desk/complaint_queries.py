"""Reading complaints in the caller's scope: one by id, a filtered page, and the SQL conditions
the list and the per-customer loaders (``complaint_loaders``) share. Filing and the workflow's
actions are in ``resolvers.service_desk.complaints``; outside the caller's complaint scope a
complaint does not exist (NOT_FOUND).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from core.errors import NotFound
from core.identity import Principal
from core.instants import require_offsets
from core.request_database import RequestDatabase
from core.settings import Settings
from models.columns import utcnow
from models.service_desk.complaint import (
    Complaint,
    ComplaintCategory,
    ComplaintSeverity,
    ComplaintStatus,
)
from resolvers.pagination import Page, PageArgs, page_with_count
from resolvers.scoping import complaint_scope

NOT_FOUND_MESSAGE = "no complaint with this id is visible to you"


@dataclass(frozen=True)
class ComplaintFilter:
    status: ComplaintStatus | None = None
    severity: ComplaintSeverity | None = None
    assignee_id: uuid.UUID | None = None
    overdue: bool | None = None
    branch_id: uuid.UUID | None = None
    category: ComplaintCategory | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    customer_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        require_offsets(createdFrom=self.created_from, createdTo=self.created_to)


def complaint_conditions(principal: Principal, filter: ComplaintFilter) -> list[Any]:
    """The caller's complaint scope and the filter, as SQL (the list and the loaders')."""
    conditions: list[Any] = [complaint_scope(principal)]
    equal = {
        Complaint.status: filter.status,
        Complaint.severity: filter.severity,
        Complaint.assignee_id: filter.assignee_id,
        Complaint.branch_id: filter.branch_id,
        Complaint.category: filter.category,
        Complaint.customer_id: filter.customer_id,
    }
    conditions += [col(column) == value for column, value in equal.items() if value is not None]
    if filter.created_from is not None:
        conditions.append(col(Complaint.created_at) >= filter.created_from)
    if filter.created_to is not None:
        conditions.append(col(Complaint.created_at) < filter.created_to)
    if filter.overdue is not None:
        still_open = col(Complaint.status).not_in(
            [ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED]
        )
        late = still_open & (col(Complaint.due_at) < utcnow())
        conditions.append(late if filter.overdue else ~late)
    return conditions


async def list_complaints(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    filter: ComplaintFilter,
    page: PageArgs,
) -> tuple[Page[Complaint], Callable[[], Awaitable[int]]]:
    conditions = complaint_conditions(principal, filter)
    return await page_with_count(
        db,
        Complaint,
        conditions,
        sort_col=col(Complaint.created_at),
        id_col=col(Complaint.id),
        args=page.validated(settings.default_page_size, settings.max_page_size),
    )


async def visible_complaint(
    db: RequestDatabase, principal: Principal, complaint_id: uuid.UUID
) -> Complaint | None:
    """The complaint if the caller's scope includes it, else None."""
    rows = await db.scalars(
        select(Complaint).where(col(Complaint.id) == complaint_id, complaint_scope(principal))
    )
    complaint: Complaint | None = rows[0] if rows else None
    return complaint


async def get_complaint(
    *, db: RequestDatabase, principal: Principal, complaint_id: uuid.UUID
) -> Complaint:
    complaint = await visible_complaint(db, principal, complaint_id)
    if complaint is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return complaint
