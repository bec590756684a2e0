"""Staff members as others see them: the ones a supervisor may hand complaints to.

``staffMembers`` lists active staff in the caller's reach: an admin every branch, a supervisor
their own branch (whom ``assignComplaint`` accepts: its agents and supervisors); other roles
are refused, since they assign no one. ``node(id:)`` refetches a staff member for anyone who
is shown one: every staff user (assignees, offer authors, tier overriders appear across the
console), and a customer the handlers of their own complaints and the staff who logged their
interactions.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import col, select

from core.errors import Forbidden
from core.identity import Principal, Role
from core.request_database import RequestDatabase
from core.settings import Settings
from models.organisation.organisation import StaffUser
from models.service_desk.complaint import Complaint
from models.service_desk.interaction import Interaction
from resolvers.pagination import Page, PageArgs, SortDirection, page_with_count

_LISTERS = frozenset({Role.ADMIN, Role.SUPERVISOR})


@dataclass(frozen=True)
class StaffFilter:
    branch_id: uuid.UUID | None = None
    role: Role | None = None


def listing_scope(principal: Principal) -> ColumnElement[bool]:
    """Whom ``staffMembers`` shows this caller: an admin everyone, a supervisor their branch."""
    if principal.role is Role.ADMIN:
        return true()
    if principal.role is Role.SUPERVISOR and principal.branch_id is not None:
        return col(StaffUser.branch_id) == principal.branch_id
    return false()


def visible_staff(principal: Principal) -> ColumnElement[bool]:
    """Whom ``node(id:)`` refetches for this caller (see the module's docstring)."""
    if principal.is_staff:
        return true()
    if principal.customer_id is not None:
        handlers = select(Complaint.assignee_id).where(
            col(Complaint.customer_id) == principal.customer_id
        )
        contacts = select(Interaction.staff_id).where(
            col(Interaction.customer_id) == principal.customer_id
        )
        return or_(col(StaffUser.id).in_(handlers), col(StaffUser.id).in_(contacts))
    return false()


async def list_staff(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    filter: StaffFilter,
    page: PageArgs,
) -> tuple[Page[StaffUser], Callable[[], Awaitable[int]]]:
    if principal.role not in _LISTERS:
        raise Forbidden("staffMembers is for supervisors (their branch) and admins")
    conditions: list[Any] = [listing_scope(principal), col(StaffUser.is_active).is_(True)]
    if filter.branch_id is not None:
        conditions.append(col(StaffUser.branch_id) == filter.branch_id)
    if filter.role is not None:
        conditions.append(col(StaffUser.role) == filter.role.value)
    return await page_with_count(
        db,
        StaffUser,
        conditions,
        sort_col=col(StaffUser.created_at),
        id_col=col(StaffUser.id),
        args=page.validated(settings.default_page_size, settings.max_page_size),
        direction=SortDirection.ASC,
    )
