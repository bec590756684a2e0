"""The audit log, readable by admin and auditor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from core.context import Info
from core.identity import Scope
from models.audit.audit import AuditEntry as AuditEntryRow
from resolvers.audit import log as service
from resolvers.pagination import PageArgs
from schema.described import described_field, optional_field
from schema.relay import After, Connection, First, Node, to_global_id
from schema.scope_field import scoped_field

HASH = (
    "HMAC-SHA256 (64 hex digits), under the server's chain key, of this entry and `prevHash`: "
    "an entry changed, removed or reordered breaks the chain."
)


@strawberry.type(description="One hash-chained audit entry. Never holds a clear value.")
class AuditEntry(Node):
    seq: int = described_field("Its position in the chain: 1, 2, 3… without gaps.")
    actor_kind: str = described_field(
        "Who acted: `staff`, `customer`, `merchant`, `service` or `system`."
    )
    actor_id: str = described_field(
        "The actor's own id (a staff or customer UUID, an OAuth client id…), not a global ID."
    )
    action: str = described_field(
        "What happened, a dotted code such as `pii.reveal` or `offer.target`."
    )
    target_type: str | None = described_field(
        "The type of record acted on (e.g. Customer); null if none."
    )
    target_id: str | None = described_field(
        "That record's own id (a UUID, not a global ID); null if none."
    )
    fields: list[str] = described_field(
        "The API fields concerned (e.g. those revealed), never their values."
    )
    purpose: str | None = described_field(
        "The reason given (a reveal's purpose, an override's reason); null if none."
    )
    request_id: str | None = described_field(
        "The request's id (its `X-Request-Id` header), as in the server logs; or null."
    )
    client_addr: str | None = described_field(
        "The caller's IP address as the server saw it; or null."
    )
    created_at: datetime = described_field("When it was recorded (ISO 8601, UTC).")
    prev_hash: str = described_field("The previous entry's `hash`; 64 zeros for the first entry.")
    hash: str = described_field(HASH)

    @classmethod
    def from_row(cls, row: AuditEntryRow) -> AuditEntry:
        return cls(
            id=to_global_id("AuditEntry", row.seq),
            seq=row.seq,
            actor_kind=row.actor_kind,
            actor_id=row.actor_id,
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            fields=list(row.fields),
            purpose=row.purpose,
            request_id=row.request_id,
            client_addr=row.client_addr,
            created_at=row.created_at,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


@strawberry.input(description="Narrows the audit log; every condition given must hold.")
class AuditFilter:
    actor_id: str | None = optional_field("Only entries of this `actorId` (exact match).")
    action: str | None = optional_field("Only entries of this `action` (exact match).")
    target_id: str | None = optional_field("Only entries of this `targetId` (exact match).")
    since: datetime | None = optional_field(
        "Recorded at or after this instant (with a UTC offset)."
    )
    until: datetime | None = optional_field("Recorded before this instant (with a UTC offset).")


@strawberry.type
class AuditQuery:
    @scoped_field(Scope.AUDIT_READ, "The audit log, newest first (admin and auditor).")
    async def audit_log(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            AuditFilter | None, strawberry.argument(description="Only the matching entries.")
        ] = None,
    ) -> Connection[AuditEntry] | None:
        f = filter or AuditFilter()
        page, count = await service.list_audit_entries(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            filter=service.AuditFilter(f.actor_id, f.action, f.target_id, f.since, f.until),
            page=PageArgs(first=first, after=after),
        )
        return Connection.build(page, AuditEntry.from_row, count)
