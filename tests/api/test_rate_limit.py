"""Rate limits: the token bucket's arithmetic on a fake clock (in memory and in Redis, which
must agree), and over HTTP: 429 RATE_LIMITED with Retry-After per principal on /graphql and
per client address on /auth/login and /oauth/token, refused before anything else ran (no SQL
statement), and one Redis bucket shared by two instances.

The servers here are apps of the tests' own with small limits, on the shared test database
(they only read it); the shared server runs without rate limits.
"""

from __future__ import annotations

import asyncio
import math
import os
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from api.rate_limit import (
    Limit,
    MemoryBucketStore,
    RateLimiter,
    RedisBucketStore,
    client_address,
    refill_and_take,
)
from auth import oauth
from core.identity import Role
from core.settings import Settings
from tests.api.conftest import serving
from tests.conftest import Server, _free_port, staff_token
from tests.support import World

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
TIERS = "query Tiers { tiers { name } }"
SLOW_REFILL = 0.01  # one token per 100 s: nothing refills during a test


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def _redis_or_skip() -> Redis:
    client = Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), 2)  # type: ignore[misc]
    except (RedisError, OSError, TimeoutError):
        await client.aclose()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return client


def _limited(settings_: Settings, **limits: Any) -> Settings:
    return settings_.model_copy(update={"rate_limits_enabled": True, **limits})


def _statements(app: Starlette) -> int:
    return int(app.state.cardcrm.database.statements_executed)


limits = st.builds(
    Limit,
    name=st.just("test"),
    burst=st.integers(min_value=1, max_value=50),
    per_second=st.floats(min_value=0.01, max_value=100.0),
)
steps = st.lists(st.floats(min_value=0.0, max_value=30.0), max_size=40)


# --- the bucket, on a fake clock ---------------------------------------------------------


@given(limit=limits)
def test_a_full_bucket_lets_a_burst_through_then_names_the_wait(limit: Limit) -> None:
    tokens, at = float(limit.burst), 0.0
    for _ in range(limit.burst):
        tokens, decision = refill_and_take(tokens, at, at, limit)
        assert decision.allowed

    tokens, refused = refill_and_take(tokens, at, at, limit)

    assert not refused.allowed
    assert refused.retry_after_seconds == math.ceil(1 / limit.per_second)


@given(limit=limits, waits=steps)
def test_waiting_retry_after_is_always_enough_and_never_more_than_a_second_too_much(
    limit: Limit, waits: list[float]
) -> None:
    tokens, at = float(limit.burst), 0.0
    for wait in waits:
        now = at + wait
        tokens, decision = refill_and_take(tokens, at, now, limit)
        at = now
        if decision.allowed:
            continue
        later = at + decision.retry_after_seconds
        _, after_waiting = refill_and_take(tokens, at, later, limit)
        assert after_waiting.allowed
        if decision.retry_after_seconds > 1:
            _, a_second_early = refill_and_take(tokens, at, later - 1, limit)
            assert not a_second_early.allowed


@given(limit=limits, waits=steps)
def test_no_schedule_of_requests_gets_more_than_the_burst_plus_the_refill(
    limit: Limit, waits: list[float]
) -> None:
    tokens, at, allowed = float(limit.burst), 0.0, 0
    for wait in waits:
        tokens, decision = refill_and_take(tokens, at, at + wait, limit)
        at += wait
        allowed += decision.allowed
        assert 0.0 <= tokens <= limit.burst

    assert allowed <= limit.burst + at * limit.per_second + 1e-6


async def test_the_memory_store_keeps_one_bucket_per_key_on_its_clock() -> None:
    clock = FakeClock()
    store, limit = MemoryBucketStore(clock), Limit("test", 2, 0.5)

    taken = [(await store.take("a", limit)).allowed for _ in range(3)]
    other = await store.take("b", limit)
    clock.now += 2
    refilled = await store.take("a", limit)

    assert taken == [True, True, False]
    assert other.allowed
    assert refilled.allowed


@settings(max_examples=40, deadline=None)
@given(limit=limits, waits=steps)
async def test_the_redis_script_decides_exactly_as_the_memory_store(
    limit: Limit, waits: list[float]
) -> None:
    clock, key = FakeClock(), f"test-{uuid.uuid4().hex}"
    memory = MemoryBucketStore(clock)
    redis = RedisBucketStore(await _redis_or_skip(), prefix="cardcrm-test:rl:", clock=clock)
    try:
        for wait in waits:
            clock.now += wait
            assert await redis.take(key, limit) == await memory.take(key, limit)
    finally:
        await redis.close()


async def test_redis_forgets_a_bucket_once_it_would_be_full_again() -> None:
    client = await _redis_or_skip()
    prefix, limit = f"cardcrm-test:{uuid.uuid4().hex}:", Limit("test", 4, 2.0)
    store = RedisBucketStore(client, prefix=prefix)
    try:
        await store.take("k", limit)
        ttl = await client.ttl(prefix + "k")
    finally:
        await store.close()

    assert 0 < ttl <= limit.seconds_to_fill + 1


async def test_the_limiter_lets_requests_through_when_redis_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = RedisBucketStore.from_url(f"redis://127.0.0.1:{_free_port()}/0")
    limiter = RateLimiter(unreachable, [Limit("test", 1, SLOW_REFILL)])
    try:
        decisions = [await limiter.take("test", "someone") for _ in range(3)]
    finally:
        await limiter.close()

    assert all(decision.allowed for decision in decisions)
    assert [r.message for r in caplog.records if r.name == "cardcrm.rate_limit"] == [
        "rate limiter unavailable (ConnectionError); letting requests through"
    ]


# --- the client address --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        (None, "unknown"),
    ],
)
def test_the_client_address_keys_ipv6_clients_by_their_64_block(host: str | None, key: str) -> None:
    scope = {"type": "http", "client": (host, 1234) if host else None, "headers": []}
    assert client_address(HTTPConnection(scope)) == key


# --- over HTTP ---------------------------------------------------------------------------


async def test_a_principal_over_its_limit_gets_429_retry_after_and_no_resolver_runs(
    server: Server, world: World, settings: Settings
) -> None:
    # given: a server allowing each principal a burst of 3 requests
    limited = _limited(settings, graphql_rate_burst=3, graphql_rate_per_second=SLOW_REFILL)
    agent = staff_token(server, world, "demo-agent")
    supervisor = staff_token(server, world, "demo-supervisor")
    async with serving(limited) as (base_url, app), httpx.AsyncClient(base_url=base_url) as client:

        async def tiers(token: str) -> httpx.Response:
            return await client.post(
                "/graphql", json={"query": TIERS}, headers={"Authorization": f"Bearer {token}"}
            )

        before = _statements(app)
        allowed = [(await tiers(agent)).status_code for _ in range(3)]
        answering_runs_sql = _statements(app) - before
        # when: the agent asks once more
        before = _statements(app)
        refused = await tiers(agent)
        statements = _statements(app) - before
        # ...while another principal still has its own bucket
        other = await tiers(supervisor)

    # then
    assert allowed == [200, 200, 200]
    assert refused.status_code == 429
    assert 99 <= int(refused.headers["retry-after"]) <= math.ceil(1 / SLOW_REFILL)
    body = refused.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert answering_runs_sql >= 3
    assert statements == 0, "the refused request ran SQL: something ran before the limit"
    assert other.status_code == 200
    assert other.json()["data"]["tiers"]


async def test_sign_in_is_limited_per_client_address_before_the_database_is_asked(
    server: Server, settings: Settings
) -> None:
    limited = _limited(settings, login_rate_burst=2, login_rate_per_second=SLOW_REFILL)
    attempt = {"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "wrong-password"}
    async with serving(limited) as (base_url, app):
        async with httpx.AsyncClient(base_url=base_url) as client:
            allowed = [(await client.post("/auth/login", json=attempt)).status_code for _ in "ab"]
            before = _statements(app)
            refused = await client.post("/auth/login", json=attempt)
            statements = _statements(app) - before
        # another client address (127.0.0.2 is loopback too) has a bucket of its own
        other_address = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(base_url=base_url, transport=other_address) as elsewhere:
            other = await elsewhere.post("/auth/login", json=attempt)

    assert allowed == [401, 401]
    assert refused.status_code == 429
    assert 99 <= int(refused.headers["retry-after"]) <= 100  # a little refilled meanwhile
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert statements == 0
    assert other.status_code == 401


async def test_the_oauth_token_endpoint_is_limited_per_client_address(
    server: Server, settings: Settings
) -> None:
    limited = _limited(settings, oauth_token_rate_burst=1, oauth_token_rate_per_second=0.5)
    form = {"grant_type": "client_credentials"}
    async with serving(limited) as (base_url, _), httpx.AsyncClient(base_url=base_url) as client:
        first = await client.post(oauth.TOKEN_PATH, data=form, auth=("no-such-client", "x"))
        second = await client.post(oauth.TOKEN_PATH, data=form, auth=("no-such-client", "x"))
        metrics = (await client.get("/metrics")).text

    assert first.status_code == 401
    assert second.status_code == 429
    assert second.headers["retry-after"] == "2"
    assert second.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 'cardcrm_rate_limited_total{limit="oauth_token"}' in metrics


async def test_two_instances_on_one_redis_draw_from_one_bucket(
    server: Server, settings: Settings
) -> None:
    await (await _redis_or_skip()).aclose()
    shared = _limited(
        settings,
        redis_url=REDIS_URL,
        graphql_rate_burst=2,
        graphql_rate_per_second=SLOW_REFILL,
    )
    # a principal of its own: the bucket outlives the test in Redis for a few minutes
    token = server.state.tokens.issue(
        subject=str(uuid.uuid4()), role=Role.AGENT, client_id="cardcrm-console"
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        serving(shared) as (url_a, _),
        serving(shared) as (url_b, app_b),
        httpx.AsyncClient() as client,
    ):
        on_a = [
            (await client.post(url_a + "/graphql", json={"query": TIERS}, headers=headers))
            for _ in "ab"
        ]
        before = _statements(app_b)
        on_b = await client.post(url_b + "/graphql", json={"query": TIERS}, headers=headers)
        statements = _statements(app_b) - before

    assert [response.status_code for response in on_a] == [200, 200]
    assert on_b.status_code == 429
    assert on_b.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 99 <= int(on_b.headers["retry-after"]) <= 100
    assert statements == 0
