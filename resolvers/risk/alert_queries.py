"""Reading risk alerts in the caller's scope: one by id, a filtered page.

Staff need ``risk:read``: risk officers, admins and auditors see every branch's alerts,
supervisors their branch's; agents and marketers (without ``risk:read``) none. A customer
sees their own (``cards:read``: the alerts are about their cards), to answer "was this you?".
Outside that scope an alert does not exist (NOT_FOUND).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from core.errors import BadUserInput, NotFound
from core.identity import Principal, Scope
from core.request_database import RequestDatabase
from core.settings import Settings
from models.risk.alert import AlertRule, AlertSeverity, AlertStatus, RiskAlert
from resolvers.pagination import Page, PageArgs, page_with_count
from resolvers.scoping import owned_scope

ALERT_NOT_FOUND = "no risk alert with this id is visible to you"


def alert_scope(principal: Principal, scope: Scope = Scope.RISK_READ) -> ColumnElement[bool]:
    """The alerts ``principal`` reaches: staff with ``scope`` (``risk:read``, or ``risk:write``
    to decide) by branch; a customer their own with ``cards:read``."""
    needed = Scope.CARDS_READ if principal.customer_id is not None else scope
    return owned_scope(principal, needed, RiskAlert.customer_id, RiskAlert.branch_id)


@dataclass(frozen=True)
class AlertFilter:
    status: AlertStatus | None = None
    rule: AlertRule | None = None
    severity: AlertSeverity | None = None
    branch_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    card_id: uuid.UUID | None = None
    raised_from: datetime | None = None
    raised_to: datetime | None = None

    def conditions(self) -> list[Any]:
        if self.raised_from and self.raised_to and self.raised_to <= self.raised_from:
            raise BadUserInput("raisedTo must be after raisedFrom", field="filter.raisedTo")
        equal = {
            RiskAlert.status: self.status,
            RiskAlert.rule: self.rule,
            RiskAlert.severity: self.severity,
            RiskAlert.branch_id: self.branch_id,
            RiskAlert.customer_id: self.customer_id,
            RiskAlert.card_id: self.card_id,
        }
        found: list[Any] = [col(c) == value for c, value in equal.items() if value is not None]
        if self.raised_from is not None:
            found.append(col(RiskAlert.created_at) >= self.raised_from)
        if self.raised_to is not None:
            found.append(col(RiskAlert.created_at) < self.raised_to)
        return found


async def list_alerts(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    filter: AlertFilter,
    page: PageArgs,
) -> tuple[Page[RiskAlert], Callable[[], Awaitable[int]]]:
    """A page of alerts in scope, newest first, and their count (if asked for)."""
    return await page_with_count(
        db,
        RiskAlert,
        [alert_scope(principal), *filter.conditions()],
        sort_col=col(RiskAlert.created_at),
        id_col=col(RiskAlert.id),
        args=page.validated(settings.default_page_size, settings.max_page_size),
    )


async def visible_alert(
    db: RequestDatabase, principal: Principal, alert_id: uuid.UUID
) -> RiskAlert | None:
    """The alert, if the caller may read it now (a subscription's reload)."""
    rows = await db.scalars(
        select(RiskAlert).where(col(RiskAlert.id) == alert_id, alert_scope(principal))
    )
    alert: RiskAlert | None = rows[0] if rows else None
    return alert


async def alert_to_change(
    session: AsyncSession, principal: Principal, alert_id: uuid.UUID, scope: Scope
) -> RiskAlert:
    """The alert, locked for the transaction (PostgreSQL), if the caller may change it with
    ``scope``; else NOT_FOUND."""
    alert = await session.scalar(
        select(RiskAlert)
        .where(col(RiskAlert.id) == alert_id, alert_scope(principal, scope))
        .with_for_update()
    )
    if alert is None:
        raise NotFound(ALERT_NOT_FOUND, field="alertId")
    return alert
