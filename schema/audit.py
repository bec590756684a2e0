"""The audit log, readable by admin and auditor."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.context import Info
from auth.scopes import Scope
from models.audit import AuditEntry as AuditEntryRow
from resolvers import audit_log as service
from resolvers.pagination import PageArgs
from schema.policy_field import scoped_field
from schema.relay import Connection, Node, to_global_id


@strawberry.type(description="One hash-chained audit entry. Never holds a clear value.")
class AuditEntry(Node):
    seq: int
    actor_kind: str
    actor_id: str
    action: str
    target_type: str | None
    target_id: str | None
    fields: list[str]
    purpose: str | None
    request_id: str | None
    client_addr: str | None
    created_at: datetime
    prev_hash: str
    hash: str

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


@strawberry.input
class AuditFilter:
    actor_id: str | None = None
    action: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@strawberry.type
class AuditQuery:
    @scoped_field(Scope.AUDIT_READ, "The audit log, newest first.")
    async def audit_log(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: AuditFilter | None = None,
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
