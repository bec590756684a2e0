"""The staff accounts an administrator or supervisor manages, with their sign-in state.

``staffAccounts`` shows more than ``staffMembers`` (disabled accounts, lockouts, one-time
passwords pending, versions): admins see every branch, supervisors their own branch; other
roles are refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, true
from sqlmodel import col

from core.errors import Forbidden
from core.identity import Principal, Role
from core.request_database import RequestDatabase
from core.settings import Settings
from models.organisation.organisation import StaffUser
from resolvers.pagination import Page, PageArgs, SortDirection, page_with_count

_MANAGERS = frozenset({Role.ADMIN, Role.SUPERVISOR})


@dataclass(frozen=True)
class AccountFilter:
    branch_id: uuid.UUID | None = None
    role: Role | None = None
    include_disabled: bool = True


def _reach(principal: Principal) -> ColumnElement[bool]:
    if principal.role is Role.ADMIN:
        return true()
    if principal.role is Role.SUPERVISOR and principal.branch_id is not None:
        return col(StaffUser.branch_id) == principal.branch_id
    return false()


async def list_accounts(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    filter: AccountFilter,
    page: PageArgs,
) -> tuple[Page[StaffUser], Callable[[], Awaitable[int]]]:
    if principal.role not in _MANAGERS:
        raise Forbidden("staffAccounts is for admins and supervisors (their branch)")
    conditions: list[Any] = [_reach(principal)]
    if not filter.include_disabled:
        conditions.append(col(StaffUser.is_active).is_(True))
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
