"""``cardcrm serve`` as a process: SIGTERM lets an in-flight request finish, closes open
WebSockets with 1001 (going away), runs the lifespan shutdown (which drains the pool) and
exits 0; ``--workers 2`` warns without REDIS_URL and reports the metrics of both workers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.state import token_service
from core.identity import Role
from tests.api.conftest import STEP_SECONDS, eventually, signed_in
from tests.conftest import _free_port
from tests.models.conftest import CARDCRM, PROJECT_ROOT, FreshDatabase

pytestmark = pytest.mark.slow

STARTUP_SECONDS = 60.0  # two workers each import all of cardcrm; the machine may be busy
ASSIGNED_TO_ME = "subscription { assignedToMe { id } }"
TIERS = b'{"query": "query SlowTiers { tiers { name } }"}'


def _start(fresh: FreshDatabase, log: Path, *options: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [str(CARDCRM), "serve", *options],
            cwd=PROJECT_ROOT,
            env=fresh.environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _read(log: Path) -> str:
    return log.read_text()


@contextlib.asynccontextmanager
async def _serving(
    fresh: FreshDatabase, log: Path, *options: str
) -> AsyncIterator[tuple[subprocess.Popen[bytes], str]]:
    """``cardcrm serve`` on the fresh database, ready; killed afterwards if still running."""
    # What a first start creates, the data keys and the development signing key: two workers
    # starting together without them race to create them (models/key_store.py commits the
    # keys one by one; auth/tokens.py's O_EXCL create fails in the loser).
    async with fresh.database() as database:
        await fresh.key_ring(database)
    token_service(fresh.settings)
    port = _free_port()
    process = _start(fresh, log, "--port", str(port), *options)
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=STEP_SECONDS) as client:
            async with asyncio.timeout(STARTUP_SECONDS):
                while (await _health(client)) != 200:
                    if process.poll() is not None:
                        pytest.fail(f"the server exited:\n{_read(log)}")
                    await asyncio.sleep(0.1)
        yield process, base_url
    finally:
        if process.poll() is None:
            process.kill()
            await asyncio.to_thread(process.wait, STEP_SECONDS)


async def _health(client: httpx.AsyncClient) -> int | None:
    try:
        return (await client.get("/healthz")).status_code
    except httpx.TransportError:
        return None


async def eventually_within(seconds: float, holds: Callable[[], bool]) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if holds():
                return
            await asyncio.sleep(0.1)


async def _metric(client: httpx.AsyncClient, name: str, **labels: str) -> float:
    text = (await client.get("/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and sample.labels == labels
    )


async def test_sigterm_finishes_the_request_says_going_away_and_exits_0(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    token = token_service(fresh_database.settings).issue(
        subject=str(uuid.uuid4()), role=Role.AGENT, client_id="cardcrm-console"
    )
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    rest_of_body = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield TIERS[:20]
        await rest_of_body.wait()
        yield TIERS[20:]

    log = tmp_path / "server.log"
    async with (
        _serving(fresh_database, log) as (process, base_url),
        httpx.AsyncClient(base_url=base_url, timeout=STEP_SECONDS) as client,
        signed_in(base_url, token) as socket,
    ):
        # given: a running subscription and a request whose body is half sent
        await socket.subscribe("mine", ASSIGNED_TO_ME)
        await eventually(lambda: _metric(client, "cardcrm_subscriptions_open"), lambda n: n == 1)
        in_flight = asyncio.create_task(client.post("/graphql", content=slow_body(), headers=auth))
        await asyncio.sleep(0.3)  # the server has the headers and half the body

        # when
        process.send_signal(signal.SIGTERM)
        close_code, close_reason = await socket.close_status()
        rest_of_body.set()
        response = await in_flight
        exit_code = await asyncio.to_thread(process.wait, STEP_SECONDS * 2)

    # then
    assert (close_code, close_reason) == (1001, "server shutting down")
    assert response.status_code == 200, response.text
    assert "tiers" in response.json()["data"]
    assert exit_code == 0, _read(log)
    lines = [json.loads(line) for line in _read(log).splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert "Application shutdown complete." in messages  # the lifespan disposed of the pool
    finished = [line for line in lines if line.get("operation") == "SlowTiers"]
    assert [line["status"] for line in finished] == [200]


async def test_two_workers_without_redis_warn_and_report_the_metrics_of_both(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    labels = {"path": "/healthz", "operation": "", "status": "200"}
    async with _serving(fresh_database, log, "--workers", "2") as (process, base_url):
        # both workers up (the supervisor answers SIGTERM once its workers have started)
        try:
            await eventually_within(
                STARTUP_SECONDS, lambda: _read(log).count("Application startup complete.") == 2
            )
        except TimeoutError:
            pytest.fail(f"the two workers did not both start:\n{_read(log)}")
        # a new connection per request, so the kernel may hand them to either worker
        fresh_connections = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=base_url, timeout=STEP_SECONDS, limits=fresh_connections
        ) as client:
            before = await _metric(client, "cardcrm_http_requests_total", **labels)
            for _ in range(6):
                assert (await client.get("/healthz")).status_code == 200
            counted = await _metric(client, "cardcrm_http_requests_total", **labels) - before
        process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(process.wait, STEP_SECONDS * 2)

    output = _read(log)
    assert "--workers 2 without REDIS_URL" in output
    assert counted == 6
    assert exit_code == 0, output


async def test_a_websocket_message_larger_than_a_request_body_may_be_closes_with_1009(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    """uvicorn's own bound was 16 MiB a message, sixteen times what an HTTP body may be."""
    token = token_service(fresh_database.settings).issue(
        subject=str(uuid.uuid4()), role=Role.AGENT, client_id="cardcrm-console"
    )
    padding = " " * fresh_database.settings.max_request_bytes
    payload = {"query": ASSIGNED_TO_ME + padding}
    async with (
        _serving(fresh_database, tmp_path / "server.log") as (_, base_url),
        signed_in(base_url, token) as socket,
    ):
        await socket.send({"id": "big", "type": "subscribe", "payload": payload})
        close_code, _ = await socket.close_status()

    assert close_code == 1009  # message too big (RFC 6455 §7.4.1)
