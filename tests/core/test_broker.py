"""Both broker implementations deliver a published event to every subscriber of a channel."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from core.broker import Broker, InProcessBroker, Message, RedisBroker

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


async def _next(stream: AsyncIterator[Message]) -> Message:
    return await asyncio.wait_for(anext(stream), timeout=5)


async def _redis_or_skip() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), timeout=2)
    except Exception:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    finally:
        await client.aclose()  # type: ignore[no-untyped-call]


async def _fan_out(publisher: Broker, listeners: list[Broker]) -> None:
    channel = f"test:{uuid.uuid4().hex}"
    streams = [listener.subscribe(channel) for listener in listeners]
    waiting = [asyncio.ensure_future(_next(stream)) for stream in streams]
    await asyncio.sleep(0.2)  # let every subscription reach the broker before publishing
    await publisher.publish(channel, {"complaintId": "c1", "action": "assign"})
    received = await asyncio.gather(*waiting)
    assert received == [{"complaintId": "c1", "action": "assign"}] * len(listeners)
    for stream in streams:
        await stream.aclose()  # type: ignore[attr-defined]


async def test_the_in_process_broker_fans_out_to_every_subscriber() -> None:
    broker = InProcessBroker()
    await _fan_out(broker, [broker, broker])
    await broker.close()


async def test_an_event_published_on_one_redis_broker_reaches_another() -> None:
    await _redis_or_skip()
    publisher, listener = RedisBroker(REDIS_URL), RedisBroker(REDIS_URL)
    try:
        await _fan_out(publisher, [listener, publisher])
    finally:
        await publisher.close()
        await listener.close()


async def test_a_channel_with_no_subscriber_swallows_the_event() -> None:
    broker = InProcessBroker()
    await broker.publish("nobody", {"x": 1})
    await broker.close()
