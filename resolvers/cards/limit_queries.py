"""Reading credit-limit requests in the caller's scope: one by id, and a filtered page.

Risk officers, admins and auditors see every branch's requests; supervisors and agents
their branch's; a customer their own. Outside that scope a request does not exist
(NOT_FOUND), as a complaint does not.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import col, select

from core.errors import NotFound
from core.identity import Principal, Scope
from core.request_database import RequestDatabase
from core.settings import Settings
from models.cards.limits import CreditLimitRequest, LimitRequestStatus
from resolvers.pagination import Page, PageArgs, page_with_count
from resolvers.scoping import owned_scope

REQUEST_NOT_FOUND = "no credit-limit request with this id is visible to you"


def request_scope(principal: Principal) -> ColumnElement[bool]:
    """The requests a caller may read (needs ``cards:read``): its card's customer's rule."""
    return owned_scope(
        principal, Scope.CARDS_READ, CreditLimitRequest.customer_id, CreditLimitRequest.branch_id
    )


@dataclass(frozen=True)
class LimitRequestFilter:
    status: LimitRequestStatus | None = None
    branch_id: uuid.UUID | None = None
    card_id: uuid.UUID | None = None


def request_conditions(principal: Principal, filter: LimitRequestFilter) -> list[Any]:
    conditions: list[Any] = [request_scope(principal)]
    equal = {
        CreditLimitRequest.status: filter.status,
        CreditLimitRequest.branch_id: filter.branch_id,
        CreditLimitRequest.card_id: filter.card_id,
    }
    conditions += [col(column) == value for column, value in equal.items() if value is not None]
    return conditions


async def list_requests(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    filter: LimitRequestFilter,
    page: PageArgs,
) -> tuple[Page[CreditLimitRequest], Callable[[], Awaitable[int]]]:
    """A page of requests in scope, newest first, and their count (if asked for)."""
    return await page_with_count(
        db,
        CreditLimitRequest,
        request_conditions(principal, filter),
        sort_col=col(CreditLimitRequest.created_at),
        id_col=col(CreditLimitRequest.id),
        args=page.validated(settings.default_page_size, settings.max_page_size),
    )


async def get_request(
    *, db: RequestDatabase, principal: Principal, request_id: uuid.UUID
) -> CreditLimitRequest:
    rows = await db.scalars(
        select(CreditLimitRequest).where(
            col(CreditLimitRequest.id) == request_id, request_scope(principal)
        )
    )
    if not rows:
        raise NotFound(REQUEST_NOT_FOUND, field="id")
    request: CreditLimitRequest = rows[0]
    return request
