"""The delivery worker: drains the outbox to the webhook subscriptions (``cardcrm events
deliver``, or a task of ``serve`` when ``events_deliver_in_serve``).

Per subscription, events go out one at a time in ``seq`` order (so in order per aggregate).
A worker first takes the subscription's lease with a conditional UPDATE (free, expired, or
already its own, and no retry pending): several workers never deliver one subscription at
once. After each answer it commits the cursor (2xx) or the failure (retry after
``base * 2**(attempts-1)`` seconds; after ``events_max_attempts`` a dead letter and the cursor
moves on) and renews the lease, under the condition that it still holds it. A worker killed
mid-POST leaves the cursor before that event: when its lease runs out another worker sends
the event again. Delivery is therefore at least once; receivers dedupe on ``webhook-id`` (the
event's id), which stays the same on every retry and replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import and_, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from core.database import Database
from core.encryption import KeyRing
from core.settings import Settings
from models.columns import utcnow
from models.events.outbox import (
    OutboxEvent,
    SubscriptionStatus,
    WebhookDeadLetter,
    WebhookSubscription,
)
from models.sealing import open_field
from resolvers.events.signing import headers

log = logging.getLogger("cardcrm.events")
S = WebhookSubscription


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Tally:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    lost_lease: int = 0
    seen: list[str] = field(default_factory=list)


def envelope(event: OutboxEvent) -> bytes:
    """The POST body: the Standard Webhooks shape, ``{type, timestamp, data}`` plus ids."""
    return orjson.dumps(
        {
            "id": str(event.event_id),
            "type": event.type,
            "version": event.schema_version,
            "timestamp": event.occurred_at.isoformat(),
            "aggregate": {"type": event.aggregate_type, "id": event.payload.get("id")},
            "sequence": event.seq,
            "data": event.payload,
        }
    )


def backoff_seconds(settings: Settings, attempts: int) -> float:
    delay = settings.events_backoff_base_seconds * 2 ** max(attempts - 1, 0)
    return float(min(delay, settings.events_backoff_max_seconds))


class Worker:
    def __init__(
        self,
        database: Database,
        ring: Callable[[], KeyRing],
        settings: Settings,
        name: str | None = None,
    ) -> None:
        # The ring is asked for per subscription: keys rotate under a long-running worker.
        self.database, self.ring, self.settings = database, ring, settings
        self.name = name or worker_name()
        self.lease = timedelta(seconds=settings.events_lease_seconds)

    def _mine(self) -> Any:
        return and_(col(S.lease_owner) == self.name, col(S.leased_until) > utcnow())

    async def _take(self, session: AsyncSession, sub_id: uuid.UUID) -> bool:
        now = utcnow()
        result = await session.execute(
            update(S)
            .where(
                col(S.id) == sub_id,
                col(S.status) == SubscriptionStatus.ACTIVE,
                or_(col(S.leased_until).is_(None), col(S.leased_until) < now, self._mine()),
                or_(col(S.next_attempt_at).is_(None), col(S.next_attempt_at) <= now),
            )
            .values(lease_owner=self.name, leased_until=now + self.lease)
        )
        await session.commit()
        return int(result.rowcount) == 1  # type: ignore[attr-defined]

    async def _release(self, session: AsyncSession, sub_id: uuid.UUID) -> None:
        await session.execute(
            update(S)
            .where(col(S.id) == sub_id, col(S.lease_owner) == self.name)
            .values(lease_owner=None, leased_until=None)
        )
        await session.commit()

    async def _settle(
        self, session: AsyncSession, sub_id: uuid.UUID, expected: int, **values: Any
    ) -> bool:
        """Writes the outcome (and renews the lease) only while the lease is still ours and
        the cursor is where this worker read it: a replay meanwhile moved it back, and wins.
        Otherwise nothing is written (a dead letter included) and the caller stops."""
        result = await session.execute(
            update(S)
            .where(col(S.id) == sub_id, col(S.cursor) == expected, self._mine())
            .values(leased_until=utcnow() + self.lease, **values)
        )
        if int(result.rowcount) != 1:  # type: ignore[attr-defined]
            await session.rollback()
            return False
        await session.commit()
        return True

    async def due_subscriptions(self, session: AsyncSession) -> list[uuid.UUID]:
        """Active subscriptions with a matching event after their cursor, not held by another
        worker and not waiting for a retry."""
        now = utcnow()
        rows = await session.scalars(
            select(S.id).where(
                col(S.status) == SubscriptionStatus.ACTIVE,
                or_(col(S.leased_until).is_(None), col(S.leased_until) < now, self._mine()),
                or_(col(S.next_attempt_at).is_(None), col(S.next_attempt_at) <= now),
                col(S.cursor)
                < select(func.coalesce(func.max(OutboxEvent.seq), 0)).scalar_subquery(),
            )
        )
        return list(rows)

    async def _pending(self, session: AsyncSession, sub: WebhookSubscription) -> list[OutboxEvent]:
        rows = await session.scalars(
            select(OutboxEvent)
            .where(col(OutboxEvent.seq) > sub.cursor, col(OutboxEvent.type).in_(sub.event_types))
            .order_by(col(OutboxEvent.seq))
            .limit(self.settings.events_batch_size)
        )
        return list(rows)

    async def deliver_subscription(
        self, client: httpx.AsyncClient, sub_id: uuid.UUID, tally: Tally
    ) -> None:
        async with self.database.session() as session:
            if not await self._take(session, sub_id):
                return
            try:
                await self._drain(session, client, sub_id, tally)
            finally:
                await self._release(session, sub_id)

    async def _drain(
        self,
        session: AsyncSession,
        client: httpx.AsyncClient,
        sub_id: uuid.UUID,
        tally: Tally,
    ) -> None:
        sub = await session.get(S, sub_id, populate_existing=True)
        assert sub is not None
        secret = open_field(self.ring(), sub, "secret")
        assert secret is not None
        url, attempts = sub.url, sub.attempts
        events = await self._pending(session, sub)
        if not events:  # nothing it asked for: skip the cursor past the others
            newest = await session.scalar(select(func.max(OutboxEvent.seq)))
            skipped = {"cursor": max(sub.cursor, int(newest or 0))}
            await self._settle(session, sub_id, sub.cursor, **skipped)
            return
        cursor = sub.cursor
        for event in events:
            error = await self._post(client, url, secret, event)
            if error is None:
                tally.delivered += 1
                tally.seen.append(str(event.event_id))
                values: dict[str, Any] = {
                    "cursor": event.seq,
                    "attempts": 0,
                    "next_attempt_at": None,
                    "last_error": None,
                }
            else:
                attempts += 1
                values = self._failure(session, sub_id, event, attempts, error, tally)
            if not await self._settle(session, sub_id, cursor, **values):
                tally.lost_lease += 1
                return
            cursor = values.get("cursor", cursor)
            if error is not None:
                if values.get("next_attempt_at") is not None:
                    return  # in order: nothing after it until it is through
                attempts = 0

    def _failure(
        self,
        session: AsyncSession,
        sub_id: uuid.UUID,
        event: OutboxEvent,
        attempts: int,
        error: str,
        tally: Tally,
    ) -> dict[str, Any]:
        if attempts >= self.settings.events_max_attempts:
            tally.dead += 1
            session.add(
                WebhookDeadLetter(
                    subscription_id=sub_id,
                    event_seq=event.seq or 0,
                    event_id=event.event_id,
                    attempts=attempts,
                    last_error=error[:500],
                )
            )
            log.warning("event %s dead-lettered for subscription %s", event.event_id, sub_id)
            return {
                "cursor": event.seq,
                "attempts": 0,
                "next_attempt_at": None,
                "last_error": error[:500],
            }
        tally.failed += 1
        retry_at: datetime = utcnow() + timedelta(seconds=backoff_seconds(self.settings, attempts))
        return {"attempts": attempts, "next_attempt_at": retry_at, "last_error": error[:500]}

    async def _post(
        self, client: httpx.AsyncClient, url: str, secret: str, event: OutboxEvent
    ) -> str | None:
        """None when the receiver took it (2xx), else why not."""
        body = envelope(event)
        sent = headers(secret, str(event.event_id), int(time.time()), body)
        try:
            response = await client.post(url, content=body, headers=sent)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    async def run_once(self, client: httpx.AsyncClient, tally: Tally) -> int:
        """One pass over the due subscriptions; how many were due."""
        async with self.database.session() as session:
            due = await self.due_subscriptions(session)
        for sub_id in due:
            await self.deliver_subscription(client, sub_id, tally)
        return len(due)

    async def _waiting(self) -> bool:
        """Whether some subscription still has events to send later (a retry, a lease)."""
        async with self.database.session() as session:
            newest = select(func.coalesce(func.max(OutboxEvent.seq), 0)).scalar_subquery()
            found = await session.scalar(
                select(func.count())
                .select_from(S)
                .where(col(S.status) == SubscriptionStatus.ACTIVE, col(S.cursor) < newest)
            )
        return bool(found)

    async def run(self, *, once: bool = False, stop: asyncio.Event | None = None) -> Tally:
        """Delivers until ``stop`` is set; with ``once``, until every subscription is through
        (waiting out retries and other workers' leases)."""
        tally = Tally()
        timeout = httpx.Timeout(self.settings.events_timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            while stop is None or not stop.is_set():
                try:
                    due = await self.run_once(client, tally)
                except Exception:
                    if once:
                        raise
                    # A long-running worker outlives a database outage: the cursor and the
                    # lease are in the database, so it picks up where it was.
                    log.exception("webhook delivery pass failed; retrying")
                    due = 0
                if due:
                    continue
                if once and not await self._waiting():
                    break
                await self._sleep(stop)
        return tally

    async def _sleep(self, stop: asyncio.Event | None) -> None:
        delay = self.settings.events_poll_seconds
        if stop is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
