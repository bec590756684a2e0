"""Two ``cardcrm serve`` processes on one database and one Redis: an event raised by a
mutation on one process reaches a subscriber connected to the other (SPEC §4).

The database is a fresh one of the backend under test, migrated and seeded here; both
processes share its ``var/`` directory, so they sign and verify with the same key.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlmodel import col, select

from api.demo.seed import seed_demo
from api.state import token_service
from core.identity import Role
from models.customers.customer import Customer
from models.organisation.organisation import Branch, StaffUser
from resolvers.service_desk.complaint_channels import assignee_channel
from schema.relay import to_global_id
from tests.api.conftest import STEP_SECONDS, eventually, signed_in
from tests.conftest import _free_port
from tests.models.conftest import CARDCRM, PROJECT_ROOT, FreshDatabase

pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
BROKER_PREFIX = "cardcrm:"  # RedisBroker's channel prefix
STARTUP_SECONDS = 30.0
STOP_SECONDS = 10.0

FILE = """
mutation File($input: FileComplaintInput!) {
  fileComplaint(input: $input) { complaint { id version } userErrors { code message } }
}
"""
ASSIGN = """
mutation Assign($input: AssignComplaintInput!) {
  assignComplaint(input: $input) { complaint { id version } userErrors { code message } }
}
"""
ASSIGNED_TO_ME = "subscription { assignedToMe { id status assignee { id } } }"


@dataclass(frozen=True)
class Seeded:
    agent: StaffUser
    supervisor: StaffUser
    customer_id: str  # a global ID: a customer of the agent's branch


async def _seed(fresh: FreshDatabase) -> Seeded:
    async with fresh.database() as database:
        ring = await fresh.key_ring(database)
        async with database.session() as session:
            await seed_demo(session, ring, customers=10, seed=7)
            staff = {u.username: u for u in (await session.scalars(select(StaffUser))).all()}
            branch = (
                await session.scalars(select(Branch).where(col(Branch.code) == "BJ-CY"))
            ).one()
            customer = (
                await session.scalars(
                    select(Customer).where(col(Customer.branch_id) == branch.id).limit(1)
                )
            ).one()
    return Seeded(
        staff["demo-agent"], staff["demo-supervisor"], to_global_id("Customer", customer.id)
    )


async def _redis_or_skip() -> Redis:
    redis = Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(redis.ping(), STEP_SECONDS)  # type: ignore[misc]
    except (RedisError, OSError, TimeoutError):
        await redis.aclose()
        pytest.skip(f"Redis is not reachable at {REDIS_URL} (set TEST_REDIS_URL or start it)")
    return redis


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [str(CARDCRM), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _fail_if_exited(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is not None:
        pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")


async def _ready(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    """Polls /healthz, which answers once the server has started (lifespan included)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=STEP_SECONDS) as client:
        async with asyncio.timeout(STARTUP_SECONDS):
            while True:
                _fail_if_exited(process, log)
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)


async def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        await asyncio.to_thread(process.wait, STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        await asyncio.to_thread(process.wait, STOP_SECONDS)


@asynccontextmanager
async def _servers(env: dict[str, str], logs: Path, count: int) -> AsyncIterator[list[str]]:
    """``count`` server processes, ready; each is stopped afterwards, whatever happened."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        urls = []
        for number in range(count):
            port, log = _free_port(), logs / f"server-{number}.log"
            processes.append(_start(env, port, log))
            urls.append(f"http://127.0.0.1:{port}")
            await _ready(processes[-1], urls[-1], log)
        yield urls
    finally:
        for process in processes:
            await _stop(process)


async def _mutate(base_url: str, query: str, input: dict[str, Any], token: str) -> Any:
    async with httpx.AsyncClient(base_url=base_url, timeout=STEP_SECONDS) as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": {"input": input}},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    (payload,) = response.json()["data"].values()
    assert payload["userErrors"] == [], payload
    return payload["complaint"]


async def test_an_assignment_on_one_process_reaches_a_subscriber_on_another(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    redis = await _redis_or_skip()
    seeded = await _seed(fresh_database)
    tokens = token_service(fresh_database.settings)  # the key both processes will load
    agent = tokens.issue(
        subject=str(seeded.agent.id),
        role=Role.AGENT,
        client_id="cardcrm-console",
        branch_id=seeded.agent.branch_id,
        username=seeded.agent.username,
    )
    supervisor = tokens.issue(
        subject=str(seeded.supervisor.id),
        role=Role.SUPERVISOR,
        client_id="cardcrm-console",
        branch_id=seeded.supervisor.branch_id,
        username=seeded.supervisor.username,
    )
    env = {**fresh_database.environment(), "REDIS_URL": REDIS_URL}
    channel = BROKER_PREFIX + assignee_channel(seeded.agent.id)

    async def listening() -> int:
        ((_, count),) = await redis.pubsub_numsub(channel)
        return int(count)

    try:
        async with (
            _servers(env, tmp_path, 2) as (url_a, url_b),
            signed_in(url_a, agent) as socket,
        ):
            await socket.subscribe("mine", ASSIGNED_TO_ME)
            await eventually(listening, lambda count: count >= 1)

            filed = await _mutate(
                url_b,
                FILE,
                {"description": "同一笔消费扣了两次", "customerId": seeded.customer_id},
                supervisor,
            )
            await _mutate(
                url_b,
                ASSIGN,
                {
                    "id": filed["id"],
                    "version": filed["version"],
                    "assigneeId": to_global_id("StaffMember", seeded.agent.id),
                },
                supervisor,
            )

            data = await socket.next_data("mine")
    finally:
        await redis.aclose()

    assert data["assignedToMe"] == {
        "id": filed["id"],
        "status": "OPEN",
        "assignee": {"id": to_global_id("StaffMember", seeded.agent.id)},
    }
