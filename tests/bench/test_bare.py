"""The bare limit (bench/bare.py) returns byte-for-byte the data cardcrm returns for W1, so
the benchmark compares the same work."""

from __future__ import annotations

import pytest

from bench.bare import open_bare, page
from bench.workloads import document, w1_variables
from core.settings import Settings
from tests.conftest import Server, staff_token
from tests.support import World

W1 = document("W1")


@pytest.mark.parametrize("first", [5, 50])
async def test_the_bare_handler_answers_w1_exactly_as_cardcrm_does(
    server: Server, world: World, settings: Settings, first: int
) -> None:
    token = staff_token(server, world, "demo-agent")
    expected = await server.graphql(W1, w1_variables(first), token=token)
    assert settings.master_key is not None
    bare = await open_bare(settings.sqlalchemy_url, settings.master_key, world.branches["BJ-CY"].id)
    try:
        actual = await page(bare, first)
    finally:
        await bare.pool.close()
    assert actual == expected
