"""The customer's privacy requests in the app: listing them, requesting a data export, and
the export's download link.

**Requesting an export** (``request_export``): the customer only (staff: FORBIDDEN), one at
a time: while an export of theirs is pending or ready (and not run out), another request is
a CONFLICT. A ready export whose time ran out no longer counts: it is marked expired and its
document dropped in the same transaction. Audited, refusals too.

**The link** (``create_export_link``): for the customer's own ready export only (another
customer's id, or an erasure: NOT_FOUND; pending, downloaded or expired: CONFLICT). The
token is 32 random bytes, URL-safe; only its SHA-256 is stored, so the link is shown once
and a database copy cannot download anything. A new link replaces the old (its hash is
overwritten). It works ``privacy_export_link_seconds``, and never past the export's own
deadline (``privacy_export_ready_hours`` after it was produced), so links cannot keep an
export alive. Audited, without the token.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.errors import Conflict, DomainError, Forbidden, NotFound
from core.request_database import RequestDatabase
from core.settings import Settings
from models.columns import utcnow
from models.privacy.request import PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus

REQUEST_ACTION, REQUEST_REFUSED_ACTION = "privacy.export.request", "privacy.export.request.refused"
LINK_ACTION, LINK_REFUSED_ACTION = "privacy.export.link", "privacy.export.link.refused"
TARGET = "PrivacyRequest"
EXPORT_PATH = "/privacy/exports/"
TOKEN_BYTES = 32
NOT_FOUND = "no export with this id is yours"
OPEN_STATUSES = (PrivacyRequestStatus.PENDING, PrivacyRequestStatus.READY)


@dataclass(frozen=True)
class ExportLink:
    request: PrivacyRequest
    url: str  # the path /privacy/exports/<token>, shown once
    expires_at: datetime


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def run_out(row: PrivacyRequest, now: datetime) -> bool:
    """A ready export whose deadline has passed (its link's, or its own)."""
    return (
        row.status == PrivacyRequestStatus.READY
        and row.expires_at is not None
        and row.expires_at <= now
    )


def expire(row: PrivacyRequest) -> None:
    """Marks a run-out export expired and drops its document (the caller commits)."""
    row.status = PrivacyRequestStatus.EXPIRED
    row.document_enc = None
    row.version += 1


async def list_requests(
    *, db: RequestDatabase, customer_id: uuid.UUID | None
) -> list[PrivacyRequest]:
    """The customer's privacy requests of every kind, newest first; FORBIDDEN for staff."""
    if customer_id is None:
        raise Forbidden("only a customer lists their own privacy requests, in the app")
    rows = await db.scalars(
        select(PrivacyRequest)
        .where(col(PrivacyRequest.customer_id) == customer_id)
        .order_by(col(PrivacyRequest.requested_at).desc(), col(PrivacyRequest.id))
    )
    return list(rows)


async def request_export(
    *,
    session: AsyncSession,
    customer_id: uuid.UUID | None,
    audit_event: Callable[..., AuditEvent],
) -> PrivacyRequest:
    """A new pending export of the customer's data (see the module docstring)."""
    if customer_id is None:
        raise Forbidden("only the customer requests an export of their data, in the app")
    now = utcnow()
    async with audit.chain_lock(session):
        open_rows = (
            await session.scalars(
                select(PrivacyRequest).where(
                    col(PrivacyRequest.customer_id) == customer_id,
                    col(PrivacyRequest.kind) == PrivacyRequestKind.EXPORT,
                    col(PrivacyRequest.status).in_(OPEN_STATUSES),
                )
            )
        ).all()
        for row in open_rows:
            if run_out(row, now):
                expire(row)
        still_open = [row for row in open_rows if row.status in OPEN_STATUSES]
        if still_open:
            refusal = Conflict(
                f"your export requested at {still_open[0].requested_at.isoformat()} is still "
                f"{still_open[0].status}; download it (or wait for it) before asking again"
            )
            event = _event(audit_event, REQUEST_REFUSED_ACTION, still_open[0].id, refusal)
            await audit.append(session, event)
            await session.commit()
            raise refusal
        row = PrivacyRequest(
            customer_id=customer_id, kind=PrivacyRequestKind.EXPORT, requested_at=now
        )
        session.add(row)
        await session.flush()
        await audit.append(session, _event(audit_event, REQUEST_ACTION, row.id, None))
        await session.commit()
    return row


async def create_export_link(
    *,
    session: AsyncSession,
    settings: Settings,
    customer_id: uuid.UUID | None,
    request_id: uuid.UUID,
    audit_event: Callable[..., AuditEvent],
) -> ExportLink:
    """A fresh download link for the customer's ready export (see the module docstring)."""
    if customer_id is None:
        raise Forbidden("only the customer downloads their export, in the app")
    row = await session.scalar(
        select(PrivacyRequest).where(
            col(PrivacyRequest.id) == request_id,
            col(PrivacyRequest.customer_id) == customer_id,
            col(PrivacyRequest.kind) == PrivacyRequestKind.EXPORT,
        )
    )
    if row is None:
        raise NotFound(NOT_FOUND, field="requestId")
    now = utcnow()
    async with audit.chain_lock(session):
        try:
            deadline = _link_deadline(row, settings, now)
        except DomainError as refusal:
            await audit.append(session, _event(audit_event, LINK_REFUSED_ACTION, row.id, refusal))
            await session.commit()
            raise
        token = secrets.token_urlsafe(TOKEN_BYTES)
        row.token_hash = token_hash(token)
        row.expires_at = deadline
        row.version += 1
        details = {"expires_at": deadline.isoformat()}
        await audit.append(
            session,
            audit_event(LINK_ACTION, target_type=TARGET, target_id=str(row.id), details=details),
        )
        await session.commit()
    return ExportLink(request=row, url=f"{EXPORT_PATH}{token}", expires_at=deadline)


def ready_deadline(row: PrivacyRequest, settings: Settings) -> datetime:
    """When a produced export is dropped if not downloaded."""
    assert row.completed_at is not None, "a ready export has been produced"
    return row.completed_at + timedelta(hours=settings.privacy_export_ready_hours)


def _link_deadline(row: PrivacyRequest, settings: Settings, now: datetime) -> datetime:
    if row.status == PrivacyRequestStatus.PENDING:
        raise Conflict("this export is still being produced; try again shortly", field="requestId")
    if row.status != PrivacyRequestStatus.READY or run_out(row, now):
        raise Conflict(
            f"this export is {'expired' if run_out(row, now) else row.status}: request a new one",
            field="requestId",
        )
    return min(
        now + timedelta(seconds=settings.privacy_export_link_seconds), ready_deadline(row, settings)
    )


def _event(
    make: Callable[..., AuditEvent],
    action: str,
    request_id: uuid.UUID,
    refusal: DomainError | None,
) -> AuditEvent:
    details = {} if refusal is None else {"code": refusal.code.value}
    return make(action, target_type=TARGET, target_id=str(request_id), details=details)
