"""Reading the audit log (admin and auditor, scope ``audit:read``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from api.context import RequestDatabase
from api.settings import Settings
from auth.principal import Principal
from auth.scopes import Scope
from models.audit import AuditEntry
from resolvers.pagination import Page, PageArgs, paginate


@dataclass(frozen=True)
class AuditFilter:
    actor_id: str | None = None
    action: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_audit_entries(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    filter: AuditFilter,
    page: PageArgs,
) -> tuple[Page[AuditEntry], Callable[[], Awaitable[int]]]:
    principal.require(Scope.AUDIT_READ)
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
    result: Page[AuditEntry] = await paginate(
        db.scalars,
        select(AuditEntry).where(*conditions),
        created_col=col(AuditEntry.created_at),
        id_col=col(AuditEntry.seq),
        key=lambda entry: (entry.created_at, entry.seq),
        args=page.validated(settings.default_page_size, settings.max_page_size),
        parse_id=int,
    )

    async def count() -> int:
        return int(await db.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)))

    return result, count
