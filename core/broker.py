"""The event broker behind subscriptions: in-process by default, Redis pub/sub when
``REDIS_URL`` is set, so an event raised by one server process reaches subscribers connected
to another. Messages are small JSON objects naming what changed (ids and actions, never a
C2 value); subscribers load the current record themselves, through the normal policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson

logger = logging.getLogger("cardcrm.broker")
Message = dict[str, Any]
QUEUE_LIMIT = 1000


class Broker(Protocol):
    async def publish(self, channel: str, message: Message) -> None: ...

    def subscribe(self, channel: str) -> AsyncIterator[Message]: ...

    async def close(self) -> None: ...


class InProcessBroker:
    """Fan-out to subscribers of this process only; a slow subscriber drops, never blocks."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[Message]]] = defaultdict(set)

    async def publish(self, channel: str, message: Message) -> None:
        for queue in list(self._queues.get(channel, ())):
            if queue.full():
                logger.warning("subscriber on %s is too slow; dropping an event", channel)
                continue
            queue.put_nowait(message)

    async def subscribe(self, channel: str) -> AsyncIterator[Message]:
        queue: asyncio.Queue[Message] = asyncio.Queue(QUEUE_LIMIT)
        self._queues[channel].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues[channel].discard(queue)
            if not self._queues[channel]:
                del self._queues[channel]

    async def close(self) -> None:
        self._queues.clear()


class RedisBroker:
    """Redis pub/sub: every instance publishes to and listens on the same channels."""

    def __init__(self, url: str, prefix: str = "cardcrm:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._prefix = prefix

    async def publish(self, channel: str, message: Message) -> None:
        await self._redis.publish(self._prefix + channel, orjson.dumps(message))

    async def subscribe(self, channel: str) -> AsyncIterator[Message]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._prefix + channel)
        try:
            async for raw in pubsub.listen():
                if raw.get("type") == "message":
                    yield orjson.loads(raw["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._redis.aclose()  # type: ignore[no-untyped-call]


def create_broker(redis_url: str | None) -> Broker:
    return RedisBroker(redis_url) if redis_url else InProcessBroker()
