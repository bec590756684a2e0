"""Reading the audit log (admin and auditor, scope ``audit:read``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col

from core.identity import Principal
from core.instants import require_offsets
from core.request_database import RequestDatabase
from core.settings import Settings
from models.audit.audit import AuditEntry
from resolvers.pagination import Page, PageArgs, page_with_count


@dataclass(frozen=True)
class AuditFilter:
    actor_id: str | None = None
    action: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        require_offsets(since=self.since, until=self.until)


async def list_audit_entries(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    filter: AuditFilter,
    page: PageArgs,
) -> tuple[Page[AuditEntry], Callable[[], Awaitable[int]]]:
    conditions: list[Any] = []
    if filter.actor_id is not None:
        conditions.append(AuditEntry.actor_id == filter.actor_id)
    if filter.action is not None:
        conditions.append(AuditEntry.action == filter.action)
    if filter.target_id is not None:
        conditions.append(AuditEntry.target_id == filter.target_id)
    if filter.since is not None:
        conditions.append(AuditEntry.created_at >= filter.since)
    if filter.until is not None:
        conditions.append(AuditEntry.created_at < filter.until)
    return await page_with_count(
        db,
        AuditEntry,
        conditions,
        sort_col=col(AuditEntry.created_at),
        id_col=col(AuditEntry.seq),
        args=page.validated(settings.default_page_size, settings.max_page_size),
        parse_id=int,
    )
