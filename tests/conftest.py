"""The test world: a real database (a SQLite file, or a fresh PostgreSQL database when
``CARDCRM_TEST_DATABASE=postgresql``), migrated with Alembic, seeded through the service
layer, and the real ASGI app served by uvicorn on a loopback port, reached over HTTP.

When ``CARDCRM_FORBID_SKIPS=1`` (CI) a skipped test fails instead: CI has every service.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

import migrations
from api.app import create_app
from api.state import AppState
from core.identity import Role, Scope
from core.settings import Environment, Settings
from models.organisation.organisation import Branch, StaffUser
from tests.support import World, build_world, postgres_admin_url

DEMO_CUSTOMERS = 30
DEMO_SEED = 7


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    forbid = os.environ.get("CARDCRM_FORBID_SKIPS") == "1"
    if forbid and call.excinfo is not None and call.excinfo.errisinstance(pytest.skip.Exception):
        raise AssertionError(f"skipped in CI, where nothing may skip: {call.excinfo.value}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    backend = os.environ.get("CARDCRM_TEST_DATABASE", "sqlite")
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'cardcrm-test.db'}"
        return
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL or start it)")
    from tests.support import create_postgres_database, drop_postgres_database

    name = f"cardcrm_test_{uuid.uuid4().hex[:10]}"
    url = create_postgres_database(admin_url, name)
    try:
        yield url
    finally:
        drop_postgres_database(admin_url, name)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var_dir = tmp_path_factory.mktemp("var")
    return Settings(
        environment=Environment.TEST,
        var_dir=var_dir,
        database_url=database_url,
        redis_url=None,  # the shared server uses the in-process broker; Redis has its own tests
        master_key=base64.b64encode(os.urandom(32)).decode(),
        signing_key_file=Path(var_dir) / "signing-key.pem",
        audit_checkpoint_key_file=Path(var_dir) / "audit-checkpoint.pem",
        login_lockout_seconds=60,
        # Tests fire requests back to back from one address and a few principals; the rate
        # limits have servers of their own in tests/api/test_rate_limit.py.
        rate_limits_enabled=False,
        # Many apps start and stop in one test process; frozen objects would never be freed.
        gc_young_threshold=0,
        # Statement counts asserted after a warm-up stay exact however slow the run is;
        # tests/resolvers/growth/test_tier_catalogue.py shows the catalogue reloading.
        reference_cache_seconds=3600,
        # Likewise the key check's statement (tests/api/test_key_rotation_online.py checks).
        key_check_seconds=3600,
    )


@dataclass
class Server:
    base_url: str
    state: AppState
    client: httpx.AsyncClient

    async def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        response = await self.post(query, variables, token=token, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )

    async def count_statements(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str
    ) -> tuple[Any, int]:
        before = self.state.database.statements_executed
        body = await self.graphql(query, variables, token=token)
        return body, self.state.database.statements_executed - before


@pytest.fixture(scope="session")
async def server(settings: Settings) -> AsyncIterator[Server]:
    await asyncio.to_thread(migrations.upgrade, settings.sqlalchemy_url)
    app = create_app(settings)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        yield Server(base_url, app.state.cardcrm, client)
    uv.should_exit = True
    await task


@pytest.fixture(scope="session")
async def world(server: Server) -> World:
    return await build_world(server.state, customers=DEMO_CUSTOMERS, seed=DEMO_SEED)


def staff_token(
    server: Server, world: World, username: str, scopes: frozenset[Scope] | None = None
) -> str:
    user = world.staff[username]
    return server.state.tokens.issue(
        subject=str(user.id),
        role=Role(user.role),
        client_id="cardcrm-console",
        scopes=scopes,
        branch_id=user.branch_id,
        username=user.username,
    )


def customer_token(server: Server, customer_id: uuid.UUID) -> str:
    return server.state.tokens.issue(
        subject=str(customer_id), role=Role.CUSTOMER, client_id="cardcrm-mobile"
    )


# tests/clients: the npm packages some tests run (reference clients, the schema linter),
# pinned in its package.json and package-lock.json.
CLIENTS = Path(__file__).resolve().parent / "clients"
NPM_CI_SECONDS = 300


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` executable, with every package of tests/clients installed (``npm ci`` into
    its git-ignored node_modules the first time, or when package.json gained one)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("needs Node 20+ and npm (apt-get install nodejs npm)")
    packages = json.loads((CLIENTS / "package.json").read_text())["dependencies"]
    modules = CLIENTS / "node_modules"
    if not all((modules / package / "package.json").exists() for package in packages):
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=CLIENTS,
            capture_output=True,
            text=True,
            timeout=NPM_CI_SECONDS,
            check=False,
        )
        if installed.returncode != 0:
            pytest.skip(f"`npm ci` in tests/clients failed: {installed.stderr.strip()[-500:]}")
    return node


__all__ = ["Branch", "Server", "StaffUser", "World", "customer_token", "select", "staff_token"]


@pytest.fixture(scope="session")
async def standard(server: Server, settings: Settings) -> AsyncIterator[Server]:
    """The shared server's app with only the standard executor (``compiled_operations``
    off), on the same database: the reference the compiled and planned answers are held to."""
    from tests.security.conftest import running_app, variant

    async with running_app(variant(settings, compiled_operations=False)) as app:
        yield app
