"""Launching a campaign: its audience as it stands now, a control group, and the messages.

In one transaction: the campaign flips to LAUNCHED (only from draft or scheduled, and only
once: a second launch is CONFLICT); every customer of the saved segment (as the launching
staff member may apply it) gets one ``CampaignRecipient``:

* CONTROL when the holdout hash of (campaign, customer) falls below ``control_percent``: a
  deterministic share, the same on every database and every rerun (``in_control``);
* else MESSAGED when they consent to the campaign's channel, with one queued
  ``OutboundMessage`` whose ``send_after`` is now, or the end of their do-not-disturb window
  when now falls inside it (the service desk's rule, ``do_not_disturb_until``); with
  ``withSurvey`` a ``Survey`` too, named by the message;
* else NO_CONSENT.

The audience is read in one query and the holdout hashed in Python; the rows are written by
``resolvers.outreach.launch_rows`` (recipients in chunks, surveys and messages set-based), so
a 100,000-customer segment launches in seconds. The message bodies are filled (and sealed)
at send time, by ``resolvers.outreach.delivery``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth import audit
from auth.audit import AuditEvent
from core.errors import Conflict, DomainError, NotFound
from core.identity import Principal
from core.settings import Settings
from models.columns import new_id, utcnow
from models.customers.customer import Customer
from models.customers.segment import SavedSegment
from models.outreach.campaign import Campaign, CampaignStatus, RecipientOutcome
from models.service_desk.interaction import InteractionChannel
from resolvers.customers.saved_segments import audience_by_name
from resolvers.outreach.campaigns import CHANGEABLE, audit_refusal, event
from resolvers.outreach.launch_rows import Windows, insert_recipients, write_messages
from resolvers.outreach.placeholders import check_template
from resolvers.service_desk.contact_rules import MARKETING_CONSENT, do_not_disturb_until

LAUNCH_ACTION = "campaigns.launch"
BASIS = 10_000  # the holdout hash is read in basis points of the audience


def in_control(campaign_id: uuid.UUID, customer_id: uuid.UUID, control_percent: int) -> bool:
    """Whether the customer is held out: the first 8 bytes of sha256("campaign:customer"),
    in basis points, below the control share. Computed here, not in SQL, so SQLite and
    PostgreSQL draw the same group."""
    digest = hashlib.sha256(f"{campaign_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BASIS < control_percent * (BASIS // 100)


@dataclass
class Launched:
    """What a launch did, as the payload and the CLI report it."""

    campaign: Campaign
    audience: int = 0
    control: int = 0
    messaged: int = 0
    no_consent: int = 0
    delayed: int = 0  # messages held until a do-not-disturb window ends


async def _claim(
    session: AsyncSession, campaign_id: uuid.UUID, version: int | None, principal: Principal
) -> Campaign:
    """Flips the campaign to LAUNCHED if it is still a draft or scheduled (and at ``version``):
    the conditional UPDATE is the lock, so two launches cannot both win."""
    row = await session.get(Campaign, campaign_id)
    if row is None:
        raise NotFound("no such campaign", field="campaignId")
    check_template(row.template, principal, has_offer=row.offer_id is not None)
    conditions = [col(Campaign.id) == campaign_id, col(Campaign.status).in_(CHANGEABLE)]
    if version is not None:
        conditions.append(col(Campaign.version) == version)
    now = utcnow()
    result = await session.execute(
        update(Campaign)
        .where(*conditions)
        .values(
            status=CampaignStatus.LAUNCHED.value,
            launched_at=now,
            launched_by=principal.staff_id,
            version=col(Campaign.version) + 1,
            updated_at=now,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        if row.status not in CHANGEABLE:
            raise Conflict(f"the campaign is {row.status}: it launches once", field="campaignId")
        raise Conflict("the campaign changed since you read it: reload it", field="version")
    fresh = await session.get(Campaign, campaign_id, populate_existing=True)
    assert fresh is not None
    return fresh


def _plan(
    campaign: Campaign, audience: Sequence[Any], settings: Settings, now: datetime
) -> tuple[Launched, list[dict[str, Any]], Windows]:
    """Each customer's outcome (``audience``: id, consent, DND start and end), and the
    do-not-disturb windows that hold a message now, with when each ends."""
    done = Launched(campaign=campaign, audience=len(audience))
    recipients: list[dict[str, Any]] = []
    seen: dict[tuple[str | None, str | None], datetime | None] = {}
    for customer_id, consents, dnd_start, dnd_end in audience:
        if in_control(campaign.id, customer_id, campaign.control_percent):
            outcome = RecipientOutcome.CONTROL
            done.control += 1
        elif not consents:
            outcome = RecipientOutcome.NO_CONSENT
            done.no_consent += 1
        else:
            outcome = RecipientOutcome.MESSAGED
            done.messaged += 1
            window = (dnd_start, dnd_end)
            if window not in seen:
                seen[window] = do_not_disturb_until(
                    dnd_start, dnd_end, now, settings.contact_timezone
                )
            done.delayed += seen[window] is not None
        recipients.append(
            {
                "id": new_id(),
                "campaign_id": campaign.id,
                "customer_id": customer_id,
                "outcome": outcome.value,
                "created_at": now,
            }
        )
    windows = {(s, e): until for (s, e), until in seen.items() if s and e and until}
    return done, recipients, windows


async def launch_campaign(
    *,
    session: AsyncSession,
    principal: Principal,
    campaign_id: uuid.UUID,
    version: int | None,
    settings: Settings,
    audit_event: Callable[..., AuditEvent],
) -> Launched:
    """Launches the campaign now, as ``principal`` (the segment is applied with their rights);
    ``version`` None for a scheduled launch by ``cardcrm campaigns run``. A refusal is
    audited too."""
    try:
        return await _launch(session, principal, campaign_id, version, settings, audit_event)
    except DomainError as error:
        await audit_refusal(session, audit_event, LAUNCH_ACTION, campaign_id, error)
        raise


async def _launch(
    session: AsyncSession,
    principal: Principal,
    campaign_id: uuid.UUID,
    version: int | None,
    settings: Settings,
    audit_event: Callable[..., AuditEvent],
) -> Launched:
    campaign = await _claim(session, campaign_id, version, principal)
    segment = await session.get(SavedSegment, campaign.segment_id)
    if segment is None:
        raise NotFound("the campaign's saved segment no longer exists", field="segment")
    conditions = await audience_by_name(session, principal, segment.name)
    consent = getattr(Customer, MARKETING_CONSENT[InteractionChannel(campaign.channel)])
    result = await session.execute(
        select(
            col(Customer.id),
            consent,
            col(Customer.do_not_disturb_start),
            col(Customer.do_not_disturb_end),
        ).where(*conditions)
    )
    launched_at = campaign.launched_at or utcnow()
    done, recipients, windows = _plan(campaign, result.all(), settings, launched_at)
    await insert_recipients(session, recipients, settings.campaign_insert_chunk_rows)
    await write_messages(session, campaign, settings, launched_at, windows)
    details = {
        "audience": done.audience,
        "control": done.control,
        "messaged": done.messaged,
        "noConsent": done.no_consent,
        "delayed": done.delayed,
    }
    await audit.record_and_commit(session, event(audit_event, LAUNCH_ACTION, campaign, **details))
    return done
