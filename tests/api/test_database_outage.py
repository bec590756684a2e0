"""A database that stops answering is a coded, retryable error answered within the limit.

The PostgreSQL test freezes a server of its own (``tests/support_postgres.py``; never the
machine's) with SIGSTOP while two cardcrm servers on it are under load: one with statement
timeouts shorter than its execution limit and the compiled executor, one whose statement
timeout is longer than its execution limit (so the deadline meets the silence first) and
strawberry's executor for everything. Every request is answered within its server's limit,
each failure as 503 SERVICE_UNAVAILABLE with ``Retry-After``, never QUERY_TOO_COMPLEX nor
INTERNAL_SERVER_ERROR; ``/readyz`` says 503 within a second; a subscription event the database
cannot resolve arrives as a SERVICE_UNAVAILABLE error; a WebSocket whose token check meets the
silence is closed with 1013 (try again later); after SIGCONT everything works again.
The SQLite test holds the database's write lock from another connection: a write waits the
busy timeout, then is SERVICE_UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.exceptions import ConnectionClosed

import migrations
from api.state import AppState
from core.database import PING_AFTER_IDLE_SECONDS
from core.settings import Environment, Settings
from resolvers.service_desk.complaint_channels import assignee_channel
from schema.relay import to_global_id
from tests.api.conftest import Socket, serving, signed_in, websocket
from tests.conftest import _free_port
from tests.support import World, add_oauth_client, build_world, client_credentials_token
from tests.support_postgres import OwnPostgres, server_account, server_binaries

ASSIGNED_TO_ME = "subscription { assignedToMe { id } }"
CUSTOMERS = "query Page { customers(first: 5) { totalCount edges { node { id tier { name } } } } }"
MERCHANT_OFFERS = "query Mine { merchantOffers(first: 5) { totalCount } }"
LOG = """
mutation Log($input: LogInteractionInput!) {
  logInteraction(input: $input) { interaction { id } userErrors { code } }
}
"""
RETRY_AFTER_SECONDS = 7
SLACK_SECONDS = 1.5  # a busy two-core machine's scheduling, on top of each server's limit
FROZEN_SECONDS = 8.0
RECOVERY_SECONDS = 20.0
READYZ_SECONDS = 1.0


@dataclass(frozen=True)
class Answer:
    started: float
    seconds: float
    status: int | None  # None: the connection failed
    code: str | None
    retry_after: str | None


async def _answer(send: Callable[[], Awaitable[httpx.Response]]) -> Answer:
    started = time.monotonic()
    try:
        response = await send()
    except httpx.TransportError:
        return Answer(started, time.monotonic() - started, None, None, None)
    seconds = time.monotonic() - started
    try:
        errors = response.json().get("errors") or [{}]
    except ValueError:  # not JSON: shown whole, so a failed assertion says what it was
        return Answer(started, seconds, response.status_code, response.text[:200], None)
    return Answer(
        started,
        seconds,
        response.status_code,
        errors[0].get("extensions", {}).get("code"),
        response.headers.get("retry-after"),
    )


@contextlib.asynccontextmanager
async def _load(
    sends: list[Callable[[], Awaitable[httpx.Response]]],
) -> AsyncIterator[list[Answer]]:
    """Each send repeated back to back in a loop of its own until the block ends."""
    answers: list[Answer] = []
    stop = asyncio.Event()

    async def repeat(send: Callable[[], Awaitable[httpx.Response]]) -> None:
        while not stop.is_set():
            answers.append(await _answer(send))

    loops = [asyncio.create_task(repeat(send)) for send in sends]
    try:
        yield answers
    finally:
        stop.set()
        await asyncio.gather(*loops)


def _settings(url: str, var_dir: Path, **overrides: Any) -> Settings:
    return Settings(
        environment=Environment.TEST,
        var_dir=var_dir,
        database_url=url,
        master_key=base64.b64encode(os.urandom(32)).decode(),
        signing_key_file=var_dir / "signing-key.pem",
        rate_limits_enabled=False,
        gc_young_threshold=0,
        database_retry_after_seconds=RETRY_AFTER_SECONDS,
        **overrides,
    )


def _staff_token(state: AppState, world: World, username: str) -> str:
    from core.identity import Role

    user = world.staff[username]
    return state.tokens.issue(
        subject=str(user.id),
        role=Role(user.role),
        client_id="cardcrm-console",
        branch_id=user.branch_id,
        username=user.username,
    )


def _post(client: httpx.AsyncClient, token: str, query: str, variables: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    body = {"query": query, "variables": variables or {}}
    return lambda: client.post("/graphql", json=body, headers=headers)


def _log_input(world: World) -> dict[str, Any]:
    customer = to_global_id("Customer", world.alice.id)
    return {
        "input": {
            "customerId": customer,
            "channel": "PHONE",
            "direction": "OUTBOUND",
            "kind": "FOLLOW_UP",
            "subject": "回访",
        }
    }


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    binaries, account = server_binaries(), server_account()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (initdb, postgres) under /usr/lib/postgresql")
    if account is None:
        pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as")
    server = OwnPostgres.create(binaries, account, _free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()


async def _readyz_while_frozen(client: httpx.AsyncClient) -> list[tuple[int, float]]:
    seen = []
    for _ in range(3):
        started = time.monotonic()
        status = (await client.get("/readyz")).status_code
        seen.append((status, time.monotonic() - started))
        await asyncio.sleep(0.5)
    return seen


async def _websocket_close(base_url: str, token: str) -> tuple[int | None, float]:
    """How the server closes a connection whose token it must check in the database."""
    started = time.monotonic()
    async with websocket(base_url) as socket:
        await socket.send({"type": "connection_init", "payload": {"token": token}})
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(30):
                while True:
                    await socket.connection.recv()
    return socket.connection.close_code, time.monotonic() - started


async def _event_while_frozen(socket: Socket, state: AppState, world: World) -> Any:
    """What a subscriber gets for an event the database cannot resolve."""
    channel = assignee_channel(world.staff["demo-agent"].id)
    await state.broker.publish(channel, {"complaintId": str(world.alice.id)})
    return await socket.receive()


async def _recovered(client: httpx.AsyncClient, token: str) -> None:
    """Waits until a page of customers and /readyz both succeed again."""
    async with asyncio.timeout(RECOVERY_SECONDS):
        while True:
            page = await _answer(_post(client, token, CUSTOMERS))
            ready = (await client.get("/readyz")).status_code
            if page.status == 200 and page.code is None and ready == 200:
                return
            await asyncio.sleep(0.2)


def _overlapping(answers: list[Answer], since: float, until: float) -> list[Answer]:
    return [a for a in answers if a.started < until and a.started + a.seconds > since]


def _check_frozen_answers(
    answers: list[Answer], frozen_at: float, thawed_at: float, limit: float
) -> None:
    """In flight while frozen: answered within the limit, as a success (finished before the
    freeze took hold or after the thaw) or as SERVICE_UNAVAILABLE with Retry-After; those
    sent well inside the freeze all as SERVICE_UNAVAILABLE."""
    during = _overlapping(answers, frozen_at, thawed_at)
    assert during, "no request was in flight while the database was frozen"
    slowest = max(a.seconds for a in during)
    assert slowest <= limit + SLACK_SECONDS, f"a request took {slowest:.1f} s: {during}"
    failures = [a for a in during if (a.status, a.code) != (200, None)]
    assert failures, "nothing failed while the database was frozen"
    assert {(a.status, a.code, a.retry_after) for a in failures} == {
        (503, "SERVICE_UNAVAILABLE", str(RETRY_AFTER_SECONDS))
    }, failures
    inside = [a for a in during if frozen_at + 0.5 < a.started < thawed_at - limit - SLACK_SECONDS]
    assert inside
    assert all(a.status == 503 for a in inside), inside


@pytest.mark.slow
@pytest.mark.postgres
async def test_a_frozen_postgresql_is_service_unavailable_within_the_limit_and_recovers(
    own_postgres: OwnPostgres, tmp_path: Path
) -> None:
    # given: two servers on a PostgreSQL of the test's own, migrated and seeded
    await asyncio.to_thread(migrations.upgrade, own_postgres.url)
    bounded = _settings(
        own_postgres.url,
        tmp_path,
        execution_timeout_seconds=4.0,
        database_statement_timeout_seconds=1.5,
        database_connect_timeout_seconds=1.0,
        database_pool_timeout_seconds=1.0,
    )
    deadline_first = bounded.model_copy(
        update={
            "execution_timeout_seconds": 3.0,
            "database_statement_timeout_seconds": 30.0,
            "database_connect_timeout_seconds": 30.0,
            "database_pool_timeout_seconds": 30.0,
            "compiled_operations": False,
        }
    )
    async with (
        serving(bounded) as (base_a, app_a),
        serving(deadline_first) as (base_b, _),
        httpx.AsyncClient(base_url=base_a, timeout=60) as a,
        httpx.AsyncClient(base_url=base_b, timeout=60) as b,
        contextlib.AsyncExitStack() as stack,
    ):
        state: AppState = app_a.state.cardcrm
        world = await build_world(state, customers=5, seed=11)
        agent = _staff_token(state, world, "demo-agent")
        subscriber = await stack.enter_async_context(signed_in(base_a, agent))
        await subscriber.subscribe("mine", ASSIGNED_TO_ME)
        merchant = await add_oauth_client(state, scopes="offers:read", merchant="冻结商户")
        merchant_token = await client_credentials_token(a, merchant)
        sends_a = [
            *[_post(a, agent, CUSTOMERS) for _ in range(4)],
            *[_post(a, agent, LOG, _log_input(world)) for _ in range(2)],
            *[_post(a, merchant_token, MERCHANT_OFFERS) for _ in range(2)],
        ]
        sends_b = [_post(b, agent, CUSTOMERS) for _ in range(3)]
        async with _load(sends_a) as answers_a, _load(sends_b) as answers_b:
            await asyncio.sleep(1.0)
            healthy = [*answers_a, *answers_b]

            # when: the database stops answering, under load
            frozen_at = time.monotonic()
            own_postgres.freeze()
            try:
                readyz = await _readyz_while_frozen(a)
                event = await _event_while_frozen(subscriber, state, world)
                closed = await _websocket_close(base_a, merchant_token)
                await asyncio.sleep(max(0.0, frozen_at + FROZEN_SECONDS - time.monotonic()))
            finally:
                own_postgres.thaw()
            thawed_at = time.monotonic()

            # and: it answers again
            await _recovered(a, agent)
            await _recovered(b, agent)
            recovered_at = time.monotonic()
            await asyncio.sleep(1.0)

    # then
    assert healthy
    assert {(a.status, a.code) for a in healthy} == {(200, None)}
    _check_frozen_answers(answers_a, frozen_at, thawed_at, bounded.execution_timeout_seconds)
    _check_frozen_answers(answers_b, frozen_at, thawed_at, deadline_first.execution_timeout_seconds)
    assert all(status == 503 and seconds < READYZ_SECONDS for status, seconds in readyz), readyz
    assert event["id"] == "mine", event
    assert [e["extensions"]["code"] for e in event["payload"]["errors"]] == ["SERVICE_UNAVAILABLE"]
    close_code, close_seconds = closed
    assert close_code == 1013
    assert close_seconds < bounded.execution_timeout_seconds + SLACK_SECONDS
    after = [a for a in [*answers_a, *answers_b] if a.started > recovered_at]
    assert after
    assert {(a.status, a.code) for a in after} == {(200, None)}, after


@pytest.mark.slow
async def test_a_write_that_waits_out_sqlites_busy_timeout_is_service_unavailable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cardcrm.db"
    settings = _settings(
        f"sqlite+aiosqlite:///{path}",
        tmp_path,
        execution_timeout_seconds=3.0,
        database_statement_timeout_seconds=0.5,
    )
    await asyncio.to_thread(migrations.upgrade, settings.sqlalchemy_url)
    async with (
        serving(settings) as (base_url, app),
        httpx.AsyncClient(base_url=base_url, timeout=60) as client,
    ):
        state: AppState = app.state.cardcrm
        world = await build_world(state, customers=2, seed=5)
        log = _post(client, _staff_token(state, world, "demo-agent"), LOG, _log_input(world))
        other_writer = sqlite3.connect(path, isolation_level=None)
        try:
            other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock
            locked_out = await _answer(log)
        finally:
            other_writer.execute("ROLLBACK")
            other_writer.close()
        afterwards = await _answer(log)

    assert (locked_out.status, locked_out.code) == (503, "SERVICE_UNAVAILABLE")
    assert locked_out.retry_after == str(RETRY_AFTER_SECONDS)
    assert locked_out.seconds < settings.execution_timeout_seconds
    assert (afterwards.status, afterwards.code) == (200, None)


async def test_after_the_server_cut_every_pooled_connection_the_next_requests_are_answered(
    own_postgres: OwnPostgres, tmp_path: Path
) -> None:
    """The pool no longer pings every checkout (``core.database`` pings only connections
    idle for a second): once a restart or failover has cut every pooled connection, the
    next requests still get working connections, not a 503."""
    await asyncio.to_thread(migrations.upgrade, own_postgres.url)
    async with (
        serving(_settings(own_postgres.url, tmp_path)) as (base, app),
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        state: AppState = app.state.cardcrm
        world = await build_world(state, customers=3, seed=5)
        agent = _staff_token(state, world, "demo-agent")
        assert (await _answer(_post(client, agent, CUSTOMERS))).status == 200
        pooled = state.database.engine.sync_engine.pool.checkedin()
        assert pooled >= 1

        await _cut_every_connection(own_postgres)
        await asyncio.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
        answers = [await _answer(_post(client, agent, CUSTOMERS)) for _ in range(3)]

    assert [(a.status, a.code) for a in answers] == [(200, None)] * 3


async def _cut_every_connection(server: OwnPostgres) -> None:
    connection = await asyncpg.connect(server.url.replace("+asyncpg", ""))
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
    finally:
        await connection.close()
