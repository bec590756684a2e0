"""``cardcrm events deliver`` as subprocesses on the shared test database, to a real HTTP
receiver: a worker killed with SIGKILL mid-run loses nothing (a second one resumes from the
committed cursor once the lease has run out), and two workers at once deliver each event of
each subscription exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter

import pytest

from schema.relay import to_global_id
from tests.conftest import Server, staff_token
from tests.models.conftest import CARDCRM, PROJECT_ROOT, FreshDatabase
from tests.resolvers.events.support import Receiver, receiver, subscribe, unsubscribe
from tests.resolvers.events.test_delivery import UPDATE, ok, service_token
from tests.support import World, add_customer

pytestmark = pytest.mark.slow
LEASE_SECONDS = 2


def _worker(server: Server) -> subprocess.Popen[str]:
    env = FreshDatabase(server.state.settings).environment()
    env.update(
        CARDCRM_EVENTS_LEASE_SECONDS=str(LEASE_SECONDS),
        CARDCRM_EVENTS_POLL_SECONDS="0.1",
        CARDCRM_EVENTS_BACKOFF_BASE_SECONDS="0.1",
    )
    return subprocess.Popen(
        [str(CARDCRM), "events", "deliver", "--once"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _updates(server: Server, world: World, count: int) -> list[str]:
    """``count`` customer.updated events; the customers' global ids, in order."""
    admin = staff_token(server, world, "demo-admin")
    customers: list[str] = []
    for _ in range(count):
        customer = to_global_id("Customer", await add_customer(server.state, world))
        await ok(server, UPDATE, {"input": {"id": customer, "version": 1, "tags": ["k"]}}, admin)
        customers.append(customer)
    return customers


async def _wait_for(hook: Receiver, count: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while len(hook.received) < count:
        assert time.monotonic() < deadline, f"only {len(hook.received)} of {count} arrived"
        await asyncio.sleep(0.05)


async def _finish(worker: subprocess.Popen[str]) -> None:
    _, err = await asyncio.to_thread(worker.communicate, timeout=60)
    assert worker.returncode == 0, err


async def test_a_worker_killed_mid_run_loses_nothing(server: Server, world: World) -> None:
    token = await service_token(server)
    with receiver() as hook:
        hook.delay = 0.2  # slow enough to kill the worker between two events
        sub, secret = await subscribe(server, token, hook.url, ["customer.updated"])
        try:
            customers = await _updates(server, world, 8)
            first = _worker(server)
            await _wait_for(hook, 3)
            os.kill(first.pid, signal.SIGKILL)
            await asyncio.to_thread(first.communicate, timeout=10)
            killed_at = time.monotonic()
            second = _worker(server)
            await _finish(second)
            bodies = hook.verified(secret)
        finally:
            await unsubscribe(server, token, sub)
    seen = Counter(body["aggregate"]["id"] for body in bodies)
    assert set(seen) == set(customers)  # every event arrived
    assert sum(seen.values()) - len(customers) <= 1  # at most the one in flight, again
    resumed = [r for r in hook.received if r.at > killed_at]
    assert resumed
    assert resumed[0].at - killed_at >= LEASE_SECONDS - 0.5  # after the lease ran out
    order = [body["aggregate"]["id"] for body in bodies]
    assert sorted(set(order), key=order.index) == customers  # in order


async def test_two_workers_at_once_deliver_each_event_exactly_once(
    server: Server, world: World
) -> None:
    token = await service_token(server)
    with receiver() as hook:
        hook.delay = 0.02
        subs = [
            await subscribe(server, token, f"{hook.url}/{name}", ["customer.updated"])
            for name in ("a", "b")
        ]
        try:
            customers = await _updates(server, world, 6)
            workers = [_worker(server), _worker(server)]
            for worker in workers:
                await _finish(worker)
        finally:
            for sub, _ in subs:
                await unsubscribe(server, token, sub)
    for (_, secret), path in zip(subs, ("/a", "/b"), strict=True):
        ids = [body["aggregate"]["id"] for body in hook.verified(secret, path)]
        assert ids == customers, path  # each once, in order
