"""Campaign management (营销活动): marketers (and admins) create campaigns as drafts or
scheduled, change them (with ``version``) until they launch, and cancel them; staff with
``campaigns:read`` list and read them. Every change is audited; launching is
``resolvers.outreach.launch``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.errors import Conflict, DomainError, NotFound
from core.identity import Principal
from core.settings import Settings
from models.columns import utcnow
from models.outreach.campaign import Campaign, CampaignGoal, CampaignStatus
from resolvers.outreach.campaign_terms import (
    CampaignChannel,
    CampaignTerms,
    CheckedTerms,
    checked_terms,
)
from resolvers.pagination import Page, PageArgs, page_with_count

CREATE_ACTION, UPDATE_ACTION, CANCEL_ACTION = (
    "campaigns.create",
    "campaigns.update",
    "campaigns.cancel",
)
NOT_FOUND = "no such campaign"
CHANGEABLE = (CampaignStatus.DRAFT.value, CampaignStatus.SCHEDULED.value)


def event(
    make: Callable[..., AuditEvent], action: str, row: Campaign, **details: Any
) -> AuditEvent:
    return make(
        action,
        target_type="Campaign",
        target_id=str(row.id),
        details={"status": row.status, "version": row.version, **details},
    )


def _current(row: Campaign) -> CheckedTerms:
    return CheckedTerms(
        name=row.name,
        description=row.description,
        segment_id=row.segment_id,
        channel=CampaignChannel(row.channel),
        template=row.template,
        offer_id=row.offer_id,
        goal=CampaignGoal(row.goal),
        goal_window_days=row.goal_window_days,
        goal_spend_cents=row.goal_spend_cents,
        control_percent=row.control_percent,
        with_survey=row.with_survey,
        scheduled_at=row.scheduled_at,
    )


def _values(terms: CheckedTerms) -> dict[str, Any]:
    values = dict(vars(terms))
    values["channel"] = terms.channel.value
    values["goal"] = terms.goal.value
    values["status"] = (
        CampaignStatus.SCHEDULED if terms.scheduled_at is not None else CampaignStatus.DRAFT
    ).value
    return values


REFUSED = ".refused"


async def audit_refusal(
    session: AsyncSession,
    make: Callable[..., AuditEvent],
    action: str,
    campaign_id: uuid.UUID | None,
    error: DomainError,
) -> None:
    """Records a refused campaign decision (``<action>.refused``, its code and field; not its
    message, which may quote the input) after rolling back whatever it had begun."""
    await session.rollback()
    entry = make(
        action + REFUSED,
        target_type="Campaign",
        target_id=str(campaign_id) if campaign_id else None,
        details={"code": error.code.value, "field": error.field},
    )
    await audit.record_and_commit(session, entry)


async def _commit(session: AsyncSession, entry: AuditEvent) -> None:
    try:
        await audit.record_and_commit(session, entry)
    except IntegrityError as exc:  # the name taken meanwhile, by another request
        await session.rollback()
        raise Conflict("a campaign is already named so", field="name") from exc


async def _clash(session: AsyncSession, name: str, exclude: uuid.UUID | None = None) -> None:
    query = select(Campaign.id).where(Campaign.name == name)
    if exclude is not None:
        query = query.where(col(Campaign.id) != exclude)
    if await session.scalar(query) is not None:
        raise Conflict(f"a campaign is already named {name!r}", field="name")


async def create_campaign(
    *,
    session: AsyncSession,
    principal: Principal,
    terms: CampaignTerms,
    audit_event: Callable[..., AuditEvent],
) -> Campaign:
    try:
        checked = await checked_terms(session, principal, terms, current=None, now=utcnow())
        await _clash(session, checked.name)
        row = Campaign(**_values(checked), created_by=principal.staff_id)
        session.add(row)
        await session.flush()
        await _commit(session, event(audit_event, CREATE_ACTION, row, goal=row.goal))
    except DomainError as error:
        await audit_refusal(session, audit_event, CREATE_ACTION, None, error)
        raise
    return row


async def changeable(session: AsyncSession, campaign_id: uuid.UUID, version: int) -> Campaign:
    """The campaign, if it is still a draft or scheduled and at ``version`` (CONFLICT)."""
    row = await session.get(Campaign, campaign_id)
    if row is None:
        raise NotFound(NOT_FOUND, field="campaignId")
    if row.status not in CHANGEABLE:
        raise Conflict(f"the campaign is {row.status}: it can no longer change", field="campaignId")
    if row.version != version:
        raise Conflict(
            f"the campaign is at version {row.version}, not {version}: reload it",
            field="version",
        )
    return row


async def write_versioned(
    session: AsyncSession, row: Campaign, version: int, values: dict[str, Any]
) -> Campaign:
    """Writes ``values`` if nobody changed the campaign since ``version`` (CONFLICT)."""
    result = await session.execute(
        update(Campaign)
        .where(col(Campaign.id) == row.id, col(Campaign.version) == version)
        .values(**values, version=col(Campaign.version) + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the campaign changed since you read it: reload it", field="version")
    fresh = await session.get(Campaign, row.id, populate_existing=True)
    assert fresh is not None
    return fresh


async def update_campaign(
    *,
    session: AsyncSession,
    principal: Principal,
    campaign_id: uuid.UUID,
    version: int,
    terms: CampaignTerms,
    audit_event: Callable[..., AuditEvent],
) -> Campaign:
    try:
        row = await changeable(session, campaign_id, version)
        current = _current(row)
        checked = await checked_terms(session, principal, terms, current=current, now=utcnow())
        await _clash(session, checked.name, exclude=row.id)
        changed = [name for name, value in vars(terms).items() if value is not None]
        fresh = await write_versioned(session, row, version, _values(checked))
        await _commit(session, event(audit_event, UPDATE_ACTION, fresh, fields=changed))
    except DomainError as error:
        await audit_refusal(session, audit_event, UPDATE_ACTION, campaign_id, error)
        raise
    return fresh


async def cancel_campaign(
    *,
    session: AsyncSession,
    campaign_id: uuid.UUID,
    version: int,
    audit_event: Callable[..., AuditEvent],
) -> Campaign:
    row = await changeable(session, campaign_id, version)
    fresh = await write_versioned(session, row, version, {"status": CampaignStatus.CANCELLED.value})
    await audit.record_and_commit(session, event(audit_event, CANCEL_ACTION, fresh))
    return fresh


async def get_campaign(*, db: Any, campaign_id: uuid.UUID) -> Campaign:
    rows = await db.scalars(select(Campaign).where(col(Campaign.id) == campaign_id))
    if not rows:
        raise NotFound(NOT_FOUND, field="id")
    found: Campaign = rows[0]
    return found


async def list_campaigns(
    *,
    db: Any,
    settings: Settings,
    status: CampaignStatus | None,
    page: PageArgs,
) -> tuple[Page[Campaign], Callable[[], Awaitable[int]]]:
    """Every campaign (optionally of one status), newest first; the field's scope decides
    who may list them."""
    conditions: list[Any] = []
    if status is not None:
        conditions.append(col(Campaign.status) == status.value)
    args = page.validated(settings.default_page_size, settings.max_page_size)
    return await page_with_count(
        db,
        Campaign,
        conditions,
        sort_col=col(Campaign.created_at),
        id_col=col(Campaign.id),
        args=args,
    )
