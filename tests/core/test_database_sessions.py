"""A server's PostgreSQL sessions run without JIT compilation (``core.database._bounds``):
an API statement's estimate can pass PostgreSQL's JIT threshold, and compiling it then costs
hundreds of milliseconds on every run. A CLI command's engine (no timeouts) keeps the
server's own setting."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.database import Database, Timeouts
from tests.support import postgres_admin_url

SERVING = Timeouts(connect_seconds=5, pool_seconds=5, statement_seconds=5)


async def _jit(url: str, timeouts: Timeouts | None) -> str:
    database = Database(url, timeouts=timeouts)
    try:
        async with database.session() as session:
            return str(await session.scalar(text("SHOW jit")))
    finally:
        await database.dispose()


async def test_a_servers_postgresql_sessions_run_without_jit() -> None:
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("no PostgreSQL on this machine")
    url = make_url(admin).set(drivername="postgresql+asyncpg").render_as_string(False)

    assert await _jit(url, SERVING) == "off"
    assert await _jit(url, None) == "on"  # PostgreSQL's default, as the machine's is set
