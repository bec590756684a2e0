"""The audit log: append-only and hash-chained, so tampering is detectable (SPEC §3).

Each entry's hash covers its content and the previous entry's hash. Appends are serialised
(a PostgreSQL advisory lock shared by every instance; a process lock on the embedded SQLite
file) so the chain never forks, and ``prev_hash`` is unique in the table as a last line of
defence. ``verify`` recomputes the chain: an altered, removed or reordered entry breaks it.
The migration also installs triggers that refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.audit import AuditEntry
from models.columns import utcnow

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_KEY = 0x0CA2DC12  # any constant shared by every cardcrm instance
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


def _canonical(seq: int, event: AuditEvent, created_at: datetime) -> bytes:
    body = {**asdict(event), "seq": seq, "created_at": created_at.isoformat()}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, seq: int, event: AuditEvent, created_at: datetime) -> str:
    return hashlib.sha256(
        prev_hash.encode() + b"\n" + _canonical(seq, event, created_at)
    ).hexdigest()


def _event_of(entry: AuditEntry) -> AuditEvent:
    """The event an entry records: the same fields, read back from the row."""
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
        hash=chain_hash(prev_hash, seq, event, created_at),
    )
    session.add(entry)
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


@dataclass
class VerifyReport:
    entries: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def _entries_in_order(session: AsyncSession, batch: int = 1000) -> AsyncIterator[AuditEntry]:
    result = await session.stream_scalars(
        select(AuditEntry).order_by(col(AuditEntry.seq)).execution_options(yield_per=batch)
    )
    async for entry in result:
        yield entry


async def verify(session: AsyncSession) -> VerifyReport:
    """Walks the whole chain; each break is reported with the position it was found at."""
    report = VerifyReport()
    expected_seq, prev_hash = 1, GENESIS_HASH
    async for entry in _entries_in_order(session):
        report.entries += 1
        if entry.seq != expected_seq:
            report.problems.append(
                f"entry {entry.seq}: expected position {expected_seq} (entry removed?)"
            )
        if entry.prev_hash != prev_hash:
            report.problems.append(f"entry {entry.seq}: does not follow the previous entry's hash")
        recomputed = chain_hash(entry.prev_hash, entry.seq, _event_of(entry), entry.created_at)
        if recomputed != entry.hash:
            report.problems.append(f"entry {entry.seq}: content does not match its hash (altered)")
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    report.head_hash = prev_hash
    return report
