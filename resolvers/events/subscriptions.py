"""Webhook subscriptions: an OAuth client asks for event types at a URL (issue 16, events out).

The signing secret (``whsec_`` + base64 of 32 random bytes, the Standard Webhooks form) is
answered once, by ``create_subscription``, and kept sealed. A client sees and deletes its own
subscriptions; an admin sees every one. A new subscription starts after the newest event (no
history); ``replay_subscription`` moves its cursor back to just before a given event, so the
worker sends again from there in order. Each change is audited.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, func, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit, outbox
from auth.audit import AuditEvent
from core.encryption import KeyRing
from core.errors import BadUserInput, NotFound
from core.identity import Principal, Role
from core.request_database import RequestDatabase
from core.settings import Environment, Settings
from models.events.outbox import (
    OutboxEvent,
    SubscriptionStatus,
    WebhookDeadLetter,
    WebhookSubscription,
)
from models.sealing import seal_field

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_URL = 2000
NOT_FOUND = "no such webhook subscription"


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: WebhookSubscription
    secret: str  # the only time it exists in clear


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def checked_url(settings: Settings, url: str) -> str:
    """An absolute http(s) URL without credentials; https outside development and test."""
    url = url.strip()
    if not url or len(url) > MAX_URL:
        raise BadUserInput(f"give a URL of at most {MAX_URL} characters", field="url")
    parts = urlsplit(url)
    allowed = {"https"} if settings.environment is Environment.PRODUCTION else {"https", "http"}
    if parts.scheme not in allowed:
        raise BadUserInput(f"the URL must use {' or '.join(sorted(allowed))}", field="url")
    if not parts.hostname:
        raise BadUserInput(
            "the URL needs a host, e.g. https://hooks.example.com/cardcrm", field="url"
        )
    if parts.username is not None or parts.password is not None:
        raise BadUserInput(
            "the URL must not carry credentials; verify the signature instead", field="url"
        )
    if parts.fragment:
        raise BadUserInput("the URL must not carry a #fragment", field="url")
    return url


def checked_types(event_types: Sequence[str]) -> list[str]:
    known = outbox.event_types()
    asked = sorted({name.strip() for name in event_types})
    if not asked:
        raise BadUserInput(
            f"ask for at least one event type: {', '.join(known)}", field="eventTypes"
        )
    unknown = [name for name in asked if name not in known]
    if unknown:
        raise BadUserInput(
            f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(known)}",
            field="eventTypes",
        )
    return asked


def subscription_scope(principal: Principal) -> ColumnElement[bool]:
    """Admins see every subscription; any other caller its OAuth client's own."""
    if principal.role is Role.ADMIN:
        return true()
    return col(WebhookSubscription.client_id) == principal.client_id


async def _newest_seq(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(OutboxEvent.seq), 0))) or 0)


def _event(
    make: Callable[..., AuditEvent], action: str, sub: WebhookSubscription, **details: object
) -> AuditEvent:
    return make(
        action,
        target_type="WebhookSubscription",
        target_id=str(sub.id),
        details={"clientId": sub.client_id, **details},
    )


async def create_subscription(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    principal: Principal,
    url: str,
    event_types: Sequence[str],
    audit_event: Callable[..., AuditEvent],
) -> CreatedSubscription:
    sub = WebhookSubscription(
        client_id=principal.client_id,
        url=checked_url(settings, url),
        event_types=checked_types(event_types),
        created_by=principal.audit_actor,
    )
    secret = new_secret()
    seal_field(ring, sub, "secret", secret)
    async with audit.chain_lock(session):  # the newest event stays the newest until commit
        sub.cursor = await _newest_seq(session)
        session.add(sub)
        await session.flush()
        await audit.append(session, _event(audit_event, "webhook.create", sub))
        await session.commit()
    return CreatedSubscription(sub, secret)


async def get_subscription(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    sub = await session.scalar(
        select(WebhookSubscription).where(
            col(WebhookSubscription.id) == subscription_id,
            col(WebhookSubscription.status) == SubscriptionStatus.ACTIVE,
            subscription_scope(principal),
        )
    )
    if sub is None:
        raise NotFound(NOT_FOUND, field="id")
    return sub


async def delete_subscription(
    *,
    session: AsyncSession,
    principal: Principal,
    subscription_id: uuid.UUID,
    audit_event: Callable[..., AuditEvent],
) -> WebhookSubscription:
    sub = await get_subscription(session, principal, subscription_id)
    sub.status = SubscriptionStatus.DELETED
    session.add(sub)
    await session.flush()
    await audit.record_and_commit(session, _event(audit_event, "webhook.delete", sub))
    return sub


async def replay_subscription(
    *,
    session: AsyncSession,
    principal: Principal,
    subscription_id: uuid.UUID,
    from_event_id: uuid.UUID,
    audit_event: Callable[..., AuditEvent],
) -> WebhookSubscription:
    """Sends again every matching event from ``from_event_id`` on (it included), in order."""
    sub = await get_subscription(session, principal, subscription_id)
    seq = await session.scalar(
        select(OutboxEvent.seq).where(col(OutboxEvent.event_id) == from_event_id)
    )
    if seq is None:
        raise NotFound("no event with this id", field="fromEventId")
    await session.execute(
        update(WebhookSubscription)
        .where(col(WebhookSubscription.id) == sub.id)
        .values(cursor=seq - 1, attempts=0, next_attempt_at=None, last_error=None)
    )
    event = _event(audit_event, "webhook.replay", sub, fromEventId=str(from_event_id))
    await audit.record_and_commit(session, event)
    fresh = await session.get(WebhookSubscription, sub.id, populate_existing=True)
    assert fresh is not None
    return fresh


async def list_subscriptions(
    db: RequestDatabase, principal: Principal
) -> list[WebhookSubscription]:
    rows = await db.scalars(
        select(WebhookSubscription)
        .where(
            col(WebhookSubscription.status) == SubscriptionStatus.ACTIVE,
            subscription_scope(principal),
        )
        .order_by(col(WebhookSubscription.created_at), col(WebhookSubscription.id))
    )
    return list(rows)


async def list_dead_letters(
    db: RequestDatabase, principal: Principal, limit: int = 100
) -> list[WebhookDeadLetter]:
    """The newest dead letters of the subscriptions the caller sees."""
    rows = await db.scalars(
        select(WebhookDeadLetter)
        .join(
            WebhookSubscription,
            col(WebhookSubscription.id) == col(WebhookDeadLetter.subscription_id),
        )
        .where(subscription_scope(principal))
        .order_by(col(WebhookDeadLetter.created_at).desc(), col(WebhookDeadLetter.id))
        .limit(limit)
    )
    return list(rows)


def event_uuid(text: str) -> uuid.UUID:
    """An event id as the webhook-id header carries it."""
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise BadUserInput("fromEventId is not an event id", field="fromEventId") from None
