"""Apps of their own for the transport tests: the shared test database served under other
settings (production, tight limits, allow-list mode), each by uvicorn on a loopback port like
the shared ``server``. They sign and verify with the shared server's key, so tokens from
``staff_token(server, ...)`` work on them. tests/api imports ``running_app`` from here.

``nothing_ran`` is how these tests prove that a refusal came before any resolver: every
resolver they call reads the database, and a refused request executes no SQL statement.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from core.settings import Environment, Settings
from tests.conftest import Server, _free_port


def variant(settings: Settings, **overrides: Any) -> Settings:
    """The shared server's settings with some changed, validated like any settings (so a
    production variant must, and does, carry a master key, signing key and database URL)."""
    return Settings(**{**settings.model_dump(), "rate_limits_enabled": False, **overrides})


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[Server]:
    """The real app under ``settings``, served over HTTP until the block ends."""
    app = create_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=_free_port(), log_level="warning", lifespan="on"
    )
    served = uvicorn.Server(config)
    task = asyncio.create_task(served.serve())
    while not served.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    base_url = f"http://127.0.0.1:{config.port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            yield Server(base_url, app.state.cardcrm, client)
    finally:
        served.should_exit = True
        await task


@asynccontextmanager
async def nothing_ran(server: Server) -> AsyncIterator[None]:
    """Asserts that no SQL statement ran inside the block."""
    before = server.state.database.statements_executed
    yield
    assert server.state.database.statements_executed == before, "a resolver ran"


def codes(body: Any) -> set[str]:
    """The codes of a response refused before execution: errors with request ids, no data."""
    assert body.get("data") is None, body
    assert all(error["extensions"]["requestId"] for error in body["errors"]), body
    return {str(error["extensions"]["code"]) for error in body["errors"]}


@pytest.fixture(scope="module")
async def production(server: Server, settings: Settings) -> AsyncIterator[Server]:
    """The app under production settings, on the shared test database."""
    async with running_app(variant(settings, environment=Environment.PRODUCTION)) as app:
        yield app
