"""The audit log: append-only and hash-chained with a key, so tampering is detectable (SPEC §3).

Each entry's hash is an HMAC-SHA256, under the chain key of the key ring (auth/audit_key.py),
of its content and the previous entry's hash: someone who can write to the database but does
not hold the master key cannot recompute the chain after an edit. Appends are serialised (a
PostgreSQL advisory lock shared by every instance; a process lock on the embedded SQLite
file) so the chain never forks, and ``prev_hash`` is unique in the table as a last line of
defence. ``verify`` recomputes the chain: an altered, removed or reordered entry breaks it;
removing the newest entries shows against a signed checkpoint (auth/audit_checkpoint.py).
The migrations also install triggers that refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import outbox
from auth.audit_key import chain_key_of
from models.audit.audit import AuditEntry
from models.columns import utcnow

if TYPE_CHECKING:
    from core.context import Context

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_KEY = outbox.LOCK_KEY  # any constant shared by every cardcrm instance
_sqlite_append_lock = asyncio.Lock()


@dataclass(frozen=True)
class AuditEvent:
    """What happened, by whom, to what, and why (never the clear value itself)."""

    actor_kind: str
    actor_id: str
    action: str
    target_type: str | None = None
    target_id: str | None = None
    fields: list[str] = field(default_factory=list)
    purpose: str | None = None
    request_id: str | None = None
    client_addr: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def canonical(prev_hash: str, seq: int, event: AuditEvent, created_at: datetime) -> bytes:
    """What an entry's hash covers: the previous hash, the position, the time and the event."""
    body = {**asdict(event), "seq": seq, "created_at": created_at.isoformat()}
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return prev_hash.encode() + b"\n" + encoded.encode()


def chain_hash(
    key: bytes, prev_hash: str, seq: int, event: AuditEvent, created_at: datetime
) -> str:
    """HMAC-SHA256 under the chain key: without the key nobody recomputes it."""
    return hmac.new(key, canonical(prev_hash, seq, event, created_at), hashlib.sha256).hexdigest()


def event_of(entry: Any) -> AuditEvent:
    """The event an entry (an ``AuditEntry`` or a row of its table) records."""
    return AuditEvent(**{f.name: getattr(entry, f.name) for f in fields(AuditEvent)})


async def _append(session: AsyncSession, event: AuditEvent) -> AuditEntry:
    head = (
        await session.execute(
            select(AuditEntry.seq, AuditEntry.hash).order_by(col(AuditEntry.seq).desc()).limit(1)
        )
    ).first()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    created_at = utcnow()
    entry = AuditEntry(
        **asdict(event),
        seq=seq,
        created_at=created_at,
        prev_hash=prev_hash,
        hash=chain_hash(chain_key_of(session), prev_hash, seq, event, created_at),
    )
    session.add(entry)
    # The public events this change stands for, in its transaction (auth/outbox.py).
    await outbox.write(session, outbox.events_of(event))
    return entry


@asynccontextmanager
async def chain_lock(session: AsyncSession) -> AsyncIterator[None]:
    """Serialises audit appends; hold it from the checks an audited action makes (e.g. a rate
    limit counted from the log) until the commit, so concurrent requests cannot both pass."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
        )
        yield
    else:
        async with _sqlite_append_lock:
            yield


async def append(session: AsyncSession, *events: AuditEvent) -> list[AuditEntry]:
    """Appends events inside ``chain_lock``; the caller commits them with its own change."""
    return [await _append_flushed(session, event) for event in events]


async def record_and_commit(session: AsyncSession, *events: AuditEvent) -> list[AuditEntry]:
    """Appends the events and commits the session, so the audited change and its entries land
    together or not at all."""
    async with chain_lock(session):
        entries = await append(session, *events)
        await session.commit()
        return entries


async def _append_flushed(session: AsyncSession, event: AuditEvent) -> AuditEntry:
    entry = await _append(session, event)
    await session.flush()
    return entry


def events_by(context: Context) -> Callable[..., AuditEvent]:
    """A maker of audit events pre-filled with who is acting and from which request."""

    def event(action: str, **kwargs: Any) -> AuditEvent:
        return AuditEvent(
            actor_kind=context.principal.kind.value,
            actor_id=context.principal.subject,
            action=action,
            request_id=context.request_id,
            client_addr=context.client_addr,
            **kwargs,
        )

    return event


@dataclass
class VerifyReport:
    entries: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[str] = field(default_factory=list)
    # The hashes of the entries at the positions asked for (where checkpoints anchor it).
    hashes_at: dict[int, str] = field(default_factory=dict)
    # The position of the last entry read (the head's seq; 0 for an empty chain).
    head_seq: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


async def _entries_in_order(
    session: AsyncSession, after: int, batch: int = 1000
) -> AsyncIterator[AuditEntry]:
    result = await session.stream_scalars(
        select(AuditEntry)
        .where(col(AuditEntry.seq) > after)
        .order_by(col(AuditEntry.seq))
        .execution_options(yield_per=batch)
    )
    async for entry in result:
        yield entry


async def verify(
    session: AsyncSession,
    *,
    after: tuple[int, str] = (0, GENESIS_HASH),
    keep_hashes_at: Collection[int] = (),
) -> VerifyReport:
    """Walks the chain from ``after`` (a position and its hash; default: the start); each
    break is reported with the position it was found at."""
    key = chain_key_of(session)
    report = VerifyReport(head_seq=after[0])
    expected_seq, prev_hash = after[0] + 1, after[1]
    async for entry in _entries_in_order(session, after[0]):
        report.entries += 1
        if entry.seq != expected_seq:
            report.problems.append(
                f"entry {entry.seq}: expected position {expected_seq} (entry removed?)"
            )
        if entry.prev_hash != prev_hash:
            report.problems.append(f"entry {entry.seq}: does not follow the previous entry's hash")
        recomputed = chain_hash(key, entry.prev_hash, entry.seq, event_of(entry), entry.created_at)
        if not hmac.compare_digest(recomputed, entry.hash):
            report.problems.append(f"entry {entry.seq}: content does not match its hash (altered)")
        if entry.seq in keep_hashes_at:
            report.hashes_at[entry.seq] = entry.hash
        expected_seq, prev_hash, report.head_seq = entry.seq + 1, entry.hash, entry.seq
    report.head_hash = prev_hash
    return report
