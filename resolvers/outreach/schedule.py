"""Scheduled campaigns: ``cardcrm campaigns run`` launches those whose ``scheduled_at`` has
come, each in its own transaction, as the staff member who created it (their role's rights
decide the audience and the placeholders, as if they launched it themselves)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth.audit import AuditEvent
from core.errors import DomainError
from core.identity import Role
from core.settings import Settings
from models.organisation.organisation import StaffUser
from models.outreach.campaign import Campaign, CampaignStatus
from resolvers.outreach.launch import Launched, launch_campaign
from resolvers.outreach.placeholders import Launcher


async def due_campaigns(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """Scheduled campaigns whose time has come, oldest schedule first."""
    rows = await session.scalars(
        select(Campaign.id)
        .where(
            col(Campaign.status) == CampaignStatus.SCHEDULED.value,
            col(Campaign.scheduled_at) <= now,
        )
        .order_by(col(Campaign.scheduled_at))
    )
    return list(rows)


async def launch_scheduled(
    *,
    session: AsyncSession,
    campaign_id: uuid.UUID,
    settings: Settings,
    audit_event: Callable[..., AuditEvent],
) -> Launched | str:
    """Launches one due campaign as its author; the reason it could not, otherwise (an
    author who left, a segment gone: the campaign stays scheduled for someone to fix)."""
    campaign = await session.get(Campaign, campaign_id)
    author = await session.get(StaffUser, campaign.created_by) if campaign else None
    if campaign is None or author is None or not author.is_active:
        return "its author is no longer an active staff member"
    launcher = Launcher(author.id, Role(author.role), author.branch_id)
    try:
        return await launch_campaign(
            session=session,
            principal=launcher.principal(),
            campaign_id=campaign_id,
            version=None,
            settings=settings,
            audit_event=audit_event,
        )
    except DomainError as error:
        await session.rollback()
        return str(error)
