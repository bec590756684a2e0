"""Reading the collection queue in the caller's scope: cases (one by id, a filtered page) and
repayment reminders.

Collections are staff-only (``collections:read``): supervisors and agents see their branch's
cases, risk officers, admins and auditors every branch's; customers and merchants hold no
collections scope, so nothing is theirs. Outside the scope a case does not exist (NOT_FOUND).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, false
from sqlmodel import col

from core.identity import Principal, Scope
from core.request_database import RequestDatabase
from core.settings import Settings
from models.cards.statement import OverdueBucket
from models.collections.case import CollectionCase, CollectionStatus
from models.collections.reminder import ReminderStatus, RepaymentReminder
from resolvers.pagination import Page, PageArgs, page_with_count
from resolvers.scoping import owned_scope

CASE_NOT_FOUND = "no collection case with this id is visible to you"


def case_scope(principal: Principal) -> ColumnElement[bool]:
    """The cases a caller may read: staff only, by branch (needs ``collections:read``)."""
    if not principal.is_staff:
        return false()
    return owned_scope(
        principal, Scope.COLLECTIONS_READ, CollectionCase.customer_id, CollectionCase.branch_id
    )


def reminder_scope(principal: Principal) -> ColumnElement[bool]:
    if not principal.is_staff:
        return false()
    return owned_scope(
        principal,
        Scope.COLLECTIONS_READ,
        RepaymentReminder.customer_id,
        RepaymentReminder.branch_id,
    )


@dataclass(frozen=True)
class CaseFilter:
    bucket: OverdueBucket | None = None
    assignee_id: uuid.UUID | None = None
    status: CollectionStatus | None = None
    card_id: uuid.UUID | None = None


def case_conditions(principal: Principal, filter: CaseFilter) -> list[Any]:
    conditions: list[Any] = [case_scope(principal)]
    equal = {
        CollectionCase.bucket: filter.bucket,
        CollectionCase.assignee_id: filter.assignee_id,
        CollectionCase.status: filter.status,
        CollectionCase.card_id: filter.card_id,
    }
    conditions += [col(column) == value for column, value in equal.items() if value is not None]
    return conditions


async def list_cases(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    filter: CaseFilter,
    page: PageArgs,
) -> tuple[Page[CollectionCase], Callable[[], Awaitable[int]]]:
    """A page of cases in scope, newest first, and their count (if asked for)."""
    return await page_with_count(
        db,
        CollectionCase,
        case_conditions(principal, filter),
        sort_col=col(CollectionCase.opened_at),
        id_col=col(CollectionCase.id),
        args=page.validated(settings.default_page_size, settings.max_page_size),
    )


@dataclass(frozen=True)
class ReminderFilter:
    card_id: uuid.UUID | None = None
    status: ReminderStatus | None = None
    remind_on: date | None = None


async def list_reminders(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    filter: ReminderFilter,
    page: PageArgs,
) -> tuple[Page[RepaymentReminder], Callable[[], Awaitable[int]]]:
    """A page of repayment reminders in scope, newest first, and their count."""
    conditions: list[Any] = [reminder_scope(principal)]
    equal = {
        RepaymentReminder.card_id: filter.card_id,
        RepaymentReminder.status: filter.status,
        RepaymentReminder.remind_on: filter.remind_on,
    }
    conditions += [col(column) == value for column, value in equal.items() if value is not None]
    return await page_with_count(
        db,
        RepaymentReminder,
        conditions,
        sort_col=col(RepaymentReminder.created_at),
        id_col=col(RepaymentReminder.id),
        args=page.validated(settings.default_page_size, settings.max_page_size),
    )
