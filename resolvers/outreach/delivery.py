"""Delivering the queued messages that are due (``cardcrm messages send``).

First, one set-based UPDATE per channel cancels every due message whose customer withdrew
consent for its channel since it was queued (CANCELLED, "consent withdrawn"). Then the rest go
out in chunks, oldest first, each chunk its own transaction: a campaign message's body is
filled now from its template (resolvers/outreach/placeholders.py, as the launching staff
member may see each field), sealed into ``body_enc``, and handed to the sender; the row
records the outcome (SENT with the sender and the provider's id, or FAILED with the last
error after the sender's retries) and its attempts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth.masking import mask_email, mask_phone
from core.encryption import KeyRing
from core.identity import Principal, Role
from core.settings import Settings
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys
from models.customers.customer import Customer
from models.growth.offer import Offer
from models.growth.tier import Tier
from models.loyalty.ledger import PointsEntry
from models.organisation.organisation import StaffUser
from models.outreach.campaign import Campaign
from models.outreach.message import MessageStatus, OutboundMessage
from models.sealing import open_field, seal_field
from models.service_desk.interaction import InteractionChannel
from resolvers.outreach.placeholders import SEALED, Launcher, placeholders_in, render
from resolvers.outreach.senders import MessageSender, Outgoing
from resolvers.service_desk.contact_rules import MARKETING_CONSENT

WITHDRAWN = "consent withdrawn"


@dataclass
class Sent:
    cancelled: int = 0
    sent: int = 0
    failed: int = 0


def _due(now: datetime) -> list[Any]:
    return [
        col(OutboundMessage.status) == MessageStatus.QUEUED.value,
        col(OutboundMessage.send_after) <= now,
    ]


async def cancel_withdrawn(session: AsyncSession, now: datetime) -> int:
    """Cancels the due messages whose customer no longer consents to their channel."""
    cancelled = 0
    for channel, column in MARKETING_CONSENT.items():
        withdrawn = select(col(Customer.id)).where(getattr(Customer, column).is_(False))
        result = await session.execute(
            update(OutboundMessage)
            .where(
                *_due(now),
                col(OutboundMessage.channel) == channel.value,
                col(OutboundMessage.customer_id).in_(withdrawn),
            )
            .values(status=MessageStatus.CANCELLED.value, last_error=WITHDRAWN)
        )
        cancelled += result.rowcount  # type: ignore[attr-defined]
    await session.commit()
    return cancelled


def _address(ring: KeyRing, customer: Customer, channel: str) -> tuple[str, str] | None:
    """The clear address for ``channel`` and its masked display."""
    if channel in (InteractionChannel.SMS, InteractionChannel.PHONE):
        phone = open_field(ring, customer, "phone")
        return (phone, mask_phone(phone)) if phone else None
    if channel == InteractionChannel.EMAIL:
        email = open_field(ring, customer, "email")
        return (email, mask_email(email)) if email else None
    return str(customer.id), str(customer.id)  # the app pushes to the customer's id


class Renderer:
    """Fills campaign templates for one chunk, caching each campaign's launcher."""

    def __init__(self, session: AsyncSession, ring: KeyRing) -> None:
        self.session, self.ring = session, ring
        self._launchers: dict[uuid.UUID, Principal] = {}

    async def _launcher(self, campaign: Campaign) -> Principal | None:
        if campaign.id not in self._launchers:
            staff = await self.session.get(StaffUser, campaign.launched_by)
            if staff is None:
                return None
            launcher = Launcher(staff.id, Role(staff.role), staff.branch_id)
            self._launchers[campaign.id] = launcher.principal()
        return self._launchers[campaign.id]

    async def body(self, customer: Customer, campaign: Campaign, extra: dict[str, Any]) -> str:
        principal = await self._launcher(campaign)
        if principal is None:
            return ""
        values: dict[str, str | None] = {
            name: open_field(self.ring, customer, SEALED[name])
            for name in placeholders_in(campaign.template)
            if name in SEALED
        }
        values.update(extra)
        values["riskGrade"] = customer.risk_grade
        return render(campaign.template, values, principal)


async def _points(session: AsyncSession, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(col(PointsEntry.customer_id), func.sum(col(PointsEntry.points)))
        .where(col(PointsEntry.customer_id).in_(customer_ids))
        .group_by(col(PointsEntry.customer_id))
    )
    return {row[0]: int(row[1]) for row in rows.all()}


async def _send_chunk(
    session: AsyncSession, ring: KeyRing, settings: Settings, sender: MessageSender, now: datetime
) -> Sent | None:
    rows = (
        await session.execute(
            select(OutboundMessage, Customer, Campaign, Tier, Offer)
            .join(Customer, and_(col(Customer.id) == col(OutboundMessage.customer_id)))
            .join(Tier, col(Tier.id) == col(Customer.tier_id))
            .outerjoin(Campaign, col(Campaign.id) == col(OutboundMessage.campaign_id))
            .outerjoin(Offer, col(Offer.id) == col(Campaign.offer_id))
            .where(*_due(now))
            .order_by(col(OutboundMessage.send_after), col(OutboundMessage.id))
            .limit(settings.message_send_chunk_rows)
        )
    ).all()
    if not rows:
        return None
    points = await _points(session, [row[1].id for row in rows])
    await ensure_customer_keys(session, ring, [row[1].id for row in rows])
    renderer = Renderer(session, ring)
    done = Sent()
    for message, customer, campaign, tier, offer in rows:
        if campaign is not None:
            extra = {
                "tier": tier.name,
                "offer": offer.title if offer else None,
                "points": str(points.get(customer.id, 0)),
            }
            body = await renderer.body(customer, campaign, extra)
            if message.survey_id is not None:
                body = f"{body}\n{settings.survey_question}"
            seal_field(ring, message, "body", body)
        else:
            body = open_field(ring, message, "body") or ""
        address = _address(ring, customer, message.channel)
        if address is None:
            message.status, message.last_error = MessageStatus.FAILED.value, "no address"
            done.failed += 1
            continue
        delivery = await sender.send(
            Outgoing(message.id, message.channel, address[0], address[1], body)
        )
        message.attempts += delivery.attempts
        message.sender = sender.name
        if delivery.sent:
            message.status, message.sent_at = MessageStatus.SENT.value, utcnow()
            message.provider_message_id = delivery.provider_message_id
            done.sent += 1
        else:
            message.status, message.last_error = MessageStatus.FAILED.value, delivery.error
            done.failed += 1
    await session.commit()
    return done


async def send_due_messages(
    session: AsyncSession,
    *,
    ring: KeyRing,
    settings: Settings,
    sender: MessageSender,
    now: datetime | None = None,
) -> Sent:
    """Cancels the withdrawn, then delivers every due message, a chunk per transaction."""
    at = now or utcnow()
    total = Sent(cancelled=await cancel_withdrawn(session, at))
    while (done := await _send_chunk(session, ring, settings, sender, at)) is not None:
        total.sent += done.sent
        total.failed += done.failed
    return total
