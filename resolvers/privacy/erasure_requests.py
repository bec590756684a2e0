"""Erasure requests (issue 16): the customer asks, a supervisor decides.

``request_erasure``: the signed-in customer, in the app; one pending request at a time (a
second: CONFLICT); audited. ``list_erasure_requests``: a page of the requests of a
supervisor's branch's customers (every branch's for admins, and for auditors, who read).
``decide_erasure``: a supervisor (or an admin) approves or rejects a pending request at its
version. Approving while a legal hold applies (``resolvers.privacy.legal_holds``) is refused
with LEGAL_HOLD naming the holds; rejecting records the holds that applied. Approving without
holds erases the customer in the same transaction (``resolvers.privacy.erasure``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.encryption import KeyRing
from core.errors import BadUserInput, Conflict, Forbidden, LegalHold, NotFound
from core.identity import Principal, Role, Scope
from core.request_database import RequestDatabase
from core.settings import Settings
from models.columns import utcnow
from models.customers.customer import Customer
from models.privacy.request import PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus
from resolvers.erasure_guard import refuse_erased
from resolvers.pagination import Page, PageArgs, page_with_count
from resolvers.privacy.erasure import erase_customers
from resolvers.privacy.legal_holds import holds_of
from resolvers.scoping import owned_scope

REQUEST_ACTION = "privacy.erasure_request"
APPROVE_ACTION = "privacy.erasure_approve"
REJECT_ACTION = "privacy.erasure_reject"
NOT_FOUND = "no erasure request with this id is visible to you"
# Who decides: supervisors for their branch, admins for every branch.
DECIDERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
ERASURE_STATUSES = (
    PrivacyRequestStatus.PENDING,
    PrivacyRequestStatus.DONE,
    PrivacyRequestStatus.REJECTED,
)


def _event(
    make: Callable[..., AuditEvent], action: str, request: PrivacyRequest, **details: object
) -> AuditEvent:
    return make(
        action,
        target_type="ErasureRequest",
        target_id=str(request.id),
        details={"customer": str(request.customer_id), **details},
    )


async def request_erasure(
    *,
    session: AsyncSession,
    customer_id: uuid.UUID | None,
    audit_event: Callable[..., AuditEvent],
) -> PrivacyRequest:
    """A pending erasure request of the signed-in customer (``customer_id``; None: staff)."""
    if customer_id is None:
        raise Forbidden("only the customer asks for their erasure, in the app")
    async with audit.chain_lock(session):  # one pending request, even for two at once
        customer = await session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("no such customer")
        refuse_erased(customer)
        pending = await session.scalar(
            select(PrivacyRequest.id).where(
                col(PrivacyRequest.customer_id) == customer_id,
                col(PrivacyRequest.kind) == PrivacyRequestKind.ERASURE,
                col(PrivacyRequest.status) == PrivacyRequestStatus.PENDING,
            )
        )
        if pending is not None:
            raise Conflict("an erasure request of yours is already waiting for a decision")
        request = PrivacyRequest(customer_id=customer_id, kind=PrivacyRequestKind.ERASURE)
        session.add(request)
        await session.flush()
        await audit.append(session, _event(audit_event, REQUEST_ACTION, request))
        await session.commit()
    return request


def _visible(principal: Principal, scope: Scope) -> ColumnElement[bool]:
    return owned_scope(principal, scope, Customer.id, Customer.branch_id)


async def list_erasure_requests(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    status: PrivacyRequestStatus | None,
    page: PageArgs,
) -> tuple[Page[PrivacyRequest], Callable[[], Awaitable[int]]]:
    """A page of the erasure requests of the customers the caller reaches, newest first, of
    one status or all, and their count (if asked for)."""
    conditions = [
        col(PrivacyRequest.kind) == PrivacyRequestKind.ERASURE,
        col(PrivacyRequest.customer_id).in_(
            select(Customer.id).where(_visible(principal, Scope.PRIVACY_READ))
        ),
    ]
    if status is not None:
        conditions.append(col(PrivacyRequest.status) == status)
    return await page_with_count(
        db,
        PrivacyRequest,
        conditions,
        sort_col=col(PrivacyRequest.requested_at),
        id_col=col(PrivacyRequest.id),
        args=page.validated(settings.default_page_size, settings.max_page_size),
    )


async def _pending(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, version: int
) -> PrivacyRequest:
    request = await session.scalar(
        select(PrivacyRequest)
        .join(Customer, col(Customer.id) == col(PrivacyRequest.customer_id))
        .where(
            col(PrivacyRequest.id) == request_id,
            col(PrivacyRequest.kind) == PrivacyRequestKind.ERASURE,
            _visible(principal, Scope.PRIVACY_WRITE),
        )
    )
    if request is None:
        raise NotFound(NOT_FOUND, field="requestId")
    if request.status != PrivacyRequestStatus.PENDING:
        raise Conflict(f"the request is {request.status}, no longer pending", field="requestId")
    if request.version != version:
        raise Conflict(
            f"the request is at version {request.version}, not {version}; reload it and retry",
            field="expectedVersion",
        )
    return request


async def _decided(
    session: AsyncSession,
    request: PrivacyRequest,
    principal: Principal,
    status: PrivacyRequestStatus,
    holds: list[str],
    now: datetime,
) -> None:
    """The request decided at its version (a concurrent decision: CONFLICT)."""
    result = await session.execute(
        update(PrivacyRequest)
        .where(col(PrivacyRequest.id) == request.id, col(PrivacyRequest.version) == request.version)
        .values(
            status=status,
            decided_by=principal.audit_actor,
            decided_at=now,
            completed_at=now if status is PrivacyRequestStatus.DONE else None,
            legal_holds=holds,
            version=request.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the request was decided meanwhile; reload it", field="expectedVersion")


async def decide_erasure(
    *,
    session: AsyncSession,
    ring: KeyRing,
    principal: Principal,
    request_id: uuid.UUID,
    approve: bool,
    expected_version: int,
    retention_years: int,
    audit_event: Callable[..., AuditEvent],
) -> PrivacyRequest:
    if principal.role not in DECIDERS:
        raise Forbidden("only a supervisor (or an admin) decides an erasure request")
    if expected_version < 1:
        raise BadUserInput("expectedVersion is the request's version, 1 or more")
    async with audit.chain_lock(session):
        request = await _pending(session, principal, request_id, expected_version)
        now = utcnow()
        found = await holds_of(
            session, [request.customer_id], retention_years=retention_years, now=now
        )
        holds = found.get(request.customer_id, [])
        if approve and holds:
            raise LegalHold(holds)
        status = PrivacyRequestStatus.DONE if approve else PrivacyRequestStatus.REJECTED
        await _decided(session, request, principal, status, holds, now)
        action = APPROVE_ACTION if approve else REJECT_ACTION
        await audit.append(session, _event(audit_event, action, request, legalHolds=holds))
        if approve:
            await erase_customers(
                session, ring, [request.customer_id], audit_event, request=str(request.id)
            )
        await session.commit()
    fresh = await session.get(PrivacyRequest, request.id, populate_existing=True)
    assert fresh is not None
    return fresh
