"""The export job (``cardcrm privacy exports``) and the one-time download.

**Producing** (``produce_pending``): every pending export, oldest first, one transaction
each: the document (``export_document.build_document``) is sealed into the request's
``document_enc`` under the customer's own key, the request becomes ready with
``completed_at`` and its deadline (``expires_at``, ``privacy_export_ready_hours`` later).
Audited with the document's size and row counts per table, never a value. An export that
fails (logged) stays pending for the next pass; the others go on. An erased customer's
export is expired instead: nothing is left to export, and no key to seal it under.

**Expiring** (``expire_run_out``): a ready export past its deadline (its link's, or its own)
becomes expired and its document is dropped. Audited.

**Downloading** (``download``): the link's token is looked up by its SHA-256. An unknown
token is NOT_FOUND; a used one, or one past its deadline, LINK_GONE. Otherwise the document
is opened and returned, and in the same transaction the request becomes downloaded and its
document is dropped (``WHERE status = 'ready' AND version = v``, so two downloads at once
cannot both succeed: the loser gets LINK_GONE). An erased customer's export is LINK_GONE
too: their key is destroyed, so the document can no longer be opened. Audited, as the
customer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.encryption import KeyRing
from core.errors import LinkGone, NotFound
from core.identity import PrincipalKind
from core.settings import Settings
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys
from models.customers.customer import Customer
from models.privacy.request import PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus
from models.sealing import open_field_or_reload, seal_field
from resolvers.privacy.export_document import build_document, document_json
from resolvers.privacy.requests import TARGET, expire, run_out, token_hash

logger = logging.getLogger("cardcrm.privacy")
PRODUCE_ACTION = "privacy.export.produce"
EXPIRE_ACTION = "privacy.export.expire"
DOWNLOAD_ACTION, DOWNLOAD_REFUSED_ACTION = (
    "privacy.export.download",
    "privacy.export.download.refused",
)
GONE = "this download link was used already or has run out; ask the app for a new one"


@dataclass
class JobTally:
    produced: int = 0
    expired: int = 0
    failed: int = 0
    produced_ids: list[uuid.UUID] = field(default_factory=list)


async def produce_pending(
    session: AsyncSession,
    *,
    ring: KeyRing,
    settings: Settings,
    job_event: Callable[..., AuditEvent],
    now: datetime | None = None,
) -> JobTally:
    """Produces every pending export, then expires the run-out ones (see the docstring)."""
    tally = JobTally()
    pending = (
        await session.scalars(
            select(PrivacyRequest.id)
            .where(
                col(PrivacyRequest.kind) == PrivacyRequestKind.EXPORT,
                col(PrivacyRequest.status) == PrivacyRequestStatus.PENDING,
            )
            .order_by(col(PrivacyRequest.requested_at))
        )
    ).all()
    for request_id in pending:
        try:
            done = await _produce(session, ring, settings, job_event, request_id, now or utcnow())
        except Exception:  # one export that fails stays pending for the next pass
            await session.rollback()
            logger.exception("could not produce the data export %s; it stays pending", request_id)
            tally.failed += 1
            continue
        if done:
            tally.produced += 1
            tally.produced_ids.append(request_id)
    tally.expired = await expire_run_out(session, job_event=job_event, now=now or utcnow())
    return tally


async def _produce(
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    job_event: Callable[..., AuditEvent],
    request_id: uuid.UUID,
    now: datetime,
) -> bool:
    row = await session.get(PrivacyRequest, request_id, populate_existing=True)
    if row is None or row.status != PrivacyRequestStatus.PENDING:
        return False  # another worker took it
    if await _erased(session, row.customer_id):  # nothing left to export, no key to seal
        expire(row)
        event = job_event(EXPIRE_ACTION, target_type=TARGET, target_id=str(row.id))
        await audit.record_and_commit(session, event)
        return False
    await ensure_customer_keys(session, ring, [row.customer_id])
    document = await build_document(session, ring, row.customer_id, now=now)
    text = document_json(document)
    seal_field(ring, row, "document", text)
    session.expunge(row)  # written below by a conditional UPDATE, not by the unit of work
    counts = {
        table: (len(rows) if isinstance(rows, list) else int(rows is not None))
        for table, rows in document["tables"].items()
    }
    details = {"bytes": len(text.encode()), "rows": counts}
    event = job_event(PRODUCE_ACTION, target_type=TARGET, target_id=str(row.id), details=details)
    async with audit.chain_lock(session):  # the write and its entry, as one writer
        result = await session.execute(
            update(PrivacyRequest)
            .where(
                col(PrivacyRequest.id) == row.id,
                col(PrivacyRequest.status) == PrivacyRequestStatus.PENDING,
                col(PrivacyRequest.version) == row.version,
            )
            .values(
                document_enc=row.document_enc,
                status=PrivacyRequestStatus.READY,
                completed_at=now,
                expires_at=now + timedelta(hours=settings.privacy_export_ready_hours),
                version=row.version + 1,
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            return False
        await audit.append(session, event)
        await session.commit()
    return True


async def _erased(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    erased_at = await session.scalar(
        select(Customer.erased_at).where(col(Customer.id) == customer_id)
    )
    return erased_at is not None


async def expire_run_out(
    session: AsyncSession, *, job_event: Callable[..., AuditEvent], now: datetime
) -> int:
    """Expires every ready export past its deadline, dropping its document; how many."""
    rows = (
        await session.scalars(
            select(PrivacyRequest).where(
                col(PrivacyRequest.kind) == PrivacyRequestKind.EXPORT,
                col(PrivacyRequest.status) == PrivacyRequestStatus.READY,
                col(PrivacyRequest.expires_at) <= now,
            )
        )
    ).all()
    if not rows:
        return 0
    for row in rows:
        expire(row)
    events = [job_event(EXPIRE_ACTION, target_type=TARGET, target_id=str(row.id)) for row in rows]
    await audit.record_and_commit(session, *events)
    return len(rows)


@dataclass(frozen=True)
class Download:
    document: bytes  # the JSON document, as produced
    request_id: uuid.UUID


async def download(
    session: AsyncSession,
    *,
    ring: KeyRing,
    token: str,
    request_id: str | None,
    client_addr: str | None,
) -> Download:
    """The export behind ``token``, once (see the module docstring)."""
    row = await session.scalar(
        select(PrivacyRequest).where(col(PrivacyRequest.token_hash) == token_hash(token))
    )
    if row is None:
        raise NotFound("no export behind this link")
    customer_id, target_id = str(row.customer_id), str(row.id)

    def event(action: str, **details: object) -> AuditEvent:
        return AuditEvent(
            actor_kind=PrincipalKind.CUSTOMER.value,
            actor_id=customer_id,
            action=action,
            target_type=TARGET,
            target_id=target_id,
            request_id=request_id,
            client_addr=client_addr,
            details=dict(details),
        )

    if row.status != PrivacyRequestStatus.READY or run_out(row, utcnow()):
        await audit.record_and_commit(session, event(DOWNLOAD_REFUSED_ACTION, status=row.status))
        raise LinkGone(GONE)
    if await _erased(session, row.customer_id):  # their key, and so this document, are gone
        await audit.record_and_commit(session, event(DOWNLOAD_REFUSED_ACTION, status="erased"))
        raise LinkGone(GONE)
    text = await open_field_or_reload(ring, row, "document")
    assert text is not None, "a ready export holds its document"
    async with audit.chain_lock(session):
        result = await session.execute(
            update(PrivacyRequest)
            .where(
                col(PrivacyRequest.id) == row.id,
                col(PrivacyRequest.status) == PrivacyRequestStatus.READY,
                col(PrivacyRequest.version) == row.version,
            )
            .values(
                status=PrivacyRequestStatus.DOWNLOADED,
                document_enc=None,
                version=row.version + 1,
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            raise LinkGone(GONE)
        await audit.append(session, event(DOWNLOAD_ACTION, bytes=len(text.encode())))
        await session.commit()
    return Download(document=text.encode(), request_id=row.id)
