"""The load generator as the benchmark drives it (bench/load.py + bench/wrk.lua), against the
real test server: answers are counted as failed when they carry GraphQL errors, and W3's
codes are each used once, run after run, every success being a redemption."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.lineup import graphql_body
from bench.load import CODE_PLACEHOLDER, CodeFeed, Load, WrkResult, run_wrk
from bench.redeem_codes import (
    CodePool,
    add_bench_merchant,
    count_redemptions,
    issue_pool,
    remove_pool,
)
from bench.servers import ClientCredentials, authorization_header
from bench.workloads import w1_variables, w3_variables
from tests.conftest import Server, staff_token
from tests.support import World

ONE_SECOND = Load(connections=2, seconds=1)


async def _wrk(
    server: Server,
    body: dict[str, object],
    authorization: str | None,
    codes: CodeFeed | None = None,
) -> WrkResult:
    return await asyncio.to_thread(
        run_wrk,
        f"{server.base_url}/graphql",
        body,
        authorization=authorization,
        load=ONE_SECOND,
        codes=codes,
    )


async def test_w1_answers_count_as_successes(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-agent")
    result = await _wrk(server, graphql_body("W1", w1_variables()), f"Bearer {token}")
    assert result.requests > 0
    assert (result.failed, result.socket_errors) == (0, 0)


async def test_answers_with_graphql_errors_count_as_failed(server: Server, world: World) -> None:
    # without a token, the customers query answers 200 with errors (or 401): both fail
    result = await _wrk(server, graphql_body("W1", w1_variables()), None)
    assert result.requests > 0
    assert result.failed == result.requests


async def _merchant_pool(server: Server, size: int) -> tuple[str, CodePool]:
    merchant = await add_bench_merchant(server.state.database)
    credentials = ClientCredentials(merchant.client_id, merchant.client_secret)
    authorization = await asyncio.to_thread(authorization_header, credentials, server.base_url)
    assert authorization is not None
    state = server.state
    return authorization, await issue_pool(
        state.database, state.key_ring, merchant.merchant_id, size
    )


async def test_w3_sends_each_code_once_across_runs_and_each_success_redeemed_one(
    server: Server, world: World, tmp_path: Path
) -> None:
    authorization, pool = await _merchant_pool(server, 3_000)
    feed = CodeFeed(pool.write(tmp_path / "codes.txt"), len(pool.codes))
    body = graphql_body("W3", w3_variables(CODE_PLACEHOLDER))
    try:
        first = await _wrk(server, body, authorization, feed)
        second = await _wrk(server, body, authorization, feed)  # goes on where the first stopped
        redemptions = await count_redemptions(server.state.database, pool)
    finally:
        await remove_pool(server.state.database, pool)
    assert not feed.exhausted
    assert first.requests > 0
    assert second.requests > 0
    assert (first.failed, second.failed) == (0, 0)  # no code was ever redeemed twice
    ok = first.requests + second.requests
    assert ok <= redemptions <= first.codes_taken + second.codes_taken == feed.used


async def test_w3_past_the_end_of_the_pool_every_answer_fails(
    server: Server, world: World, tmp_path: Path
) -> None:
    # given: two codes, of which wrk's check of its request takes the first, unsent
    authorization, pool = await _merchant_pool(server, 2)
    feed = CodeFeed(pool.write(tmp_path / "codes.txt"), len(pool.codes))
    body = graphql_body("W3", w3_variables(CODE_PLACEHOLDER))
    try:
        result = await _wrk(server, body, authorization, feed)
        redemptions = await count_redemptions(server.state.database, pool)
    finally:
        await remove_pool(server.state.database, pool)
    assert feed.exhausted, (result, feed)
    assert redemptions == 1, (result, feed)
    assert result.requests > 1
    assert result.failed == result.requests - 1  # userErrors NOT_FOUND for "EXHAUSTED"
    # every answered request took a code, and so did wrk's check; at most one per
    # connection was still in flight when the run ended
    extra = result.codes_taken - result.requests
    assert 1 <= extra <= 1 + ONE_SECOND.connections
