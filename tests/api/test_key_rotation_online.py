"""Online key rotation beside a running server: ``cardcrm keys rotate``, ``reencrypt``,
``status`` and ``retire`` run as the operator runs them (subprocesses on the server's own
database) while the server answers over HTTP.

Given a server that has loaded data key v1 only, when the values are re-sealed under v2 by
another process, then the server reads them at once (one reload, not one per value); a version
that does not exist anywhere is KEY_UNAVAILABLE. Given a server writing in a loop, when
``reencrypt`` runs beside it, then no read fails and at the end no value is under v1, so v1
can be retired; before that, ``retire`` refuses.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from api.state import AppState
from core.customer_key_cache import CustomerKeyCache
from core.encryption import KeyRing, aad_for
from core.identity import Role
from core.settings import Settings
from models.customers.customer import Customer
from models.key_store import sealed_counts
from schema.relay import to_global_id
from tests.api.conftest import fresh_database, serving
from tests.models.conftest import CARDCRM, CLI_TIMEOUT_SECONDS, PROJECT_ROOT, FreshDatabase
from tests.support import World, build_world

__all__ = ["fresh_database"]

PAGE = """
query Page {
  customers(first: 50) {
    edges { node { id name phone email address cards { pan last4 } } }
  }
}
"""
UPDATE = """
mutation Update($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    customer { id email version }
    userErrors { code message }
  }
}
"""
MOVE = """
mutation Move($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { id name email } userErrors { code } }
}
"""
REVEAL_EMAIL = """
mutation Reveal($id: ID!) {
  revealCustomerPii(input: {customerId: $id, fields: [EMAIL],
                            purpose: "confirming the address after a key rotation"}) {
    values { value }
  }
}
"""
KEY_CHECK_SECONDS = 0.2
EXECUTION_TIMEOUT_SECONDS = 2.0
DATABASE_WAIT_SECONDS = 1.0  # the server's pool and statement timeouts, each


@dataclass
class Running:
    fresh: FreshDatabase
    base_url: str
    state: AppState
    world: World
    client: httpx.AsyncClient

    def admin_token(self) -> str:
        admin = self.world.staff["demo-admin"]
        return self.state.tokens.issue(
            subject=str(admin.id), role=Role.ADMIN, client_id="cardcrm-console"
        )

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        return await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.admin_token()}", **headers},
        )

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        return response.json()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``cardcrm <args>`` on the server's database, with the server's key check interval,
        database timeouts and request time limit (so ``reencrypt`` settles after them, not
        the defaults)."""
        env = self.fresh.environment() | {
            "CARDCRM_KEY_CHECK_SECONDS": str(KEY_CHECK_SECONDS),
            "CARDCRM_EXECUTION_TIMEOUT_SECONDS": str(EXECUTION_TIMEOUT_SECONDS),
            "CARDCRM_DATABASE_POOL_TIMEOUT_SECONDS": str(DATABASE_WAIT_SECONDS),
            "CARDCRM_DATABASE_STATEMENT_TIMEOUT_SECONDS": str(DATABASE_WAIT_SECONDS),
        }
        return subprocess.run(
            [str(CARDCRM), *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )

    async def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(self.cli, *args)


async def _running(fresh: FreshDatabase, key_check_seconds: float) -> AsyncIterator[Running]:
    settings: Settings = fresh.settings.model_copy(
        update={
            "key_check_seconds": key_check_seconds,
            "execution_timeout_seconds": EXECUTION_TIMEOUT_SECONDS,
            "database_pool_timeout_seconds": DATABASE_WAIT_SECONDS,
            "database_statement_timeout_seconds": DATABASE_WAIT_SECONDS,
            "rate_limits_enabled": False,
        }
    )
    async with serving(settings) as (base_url, app):
        state: AppState = app.state.cardcrm
        world = await build_world(state, customers=8, seed=11)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            yield Running(fresh, base_url, state, world, client)


@pytest.fixture
async def unaware(fresh_database: FreshDatabase) -> AsyncIterator[Running]:
    """A server whose scheduled key check never comes during the test."""
    async for running in _running(fresh_database, key_check_seconds=3600):
        yield running


@pytest.fixture
async def watching(fresh_database: FreshDatabase) -> AsyncIterator[Running]:
    """A server that checks for a newer data key every KEY_CHECK_SECONDS, as in production."""
    async for running in _running(fresh_database, key_check_seconds=KEY_CHECK_SECONDS):
        yield running


def no_errors(body: Any) -> Any:
    assert "errors" not in body, body["errors"]
    return body["data"]


def nodes(page: Any) -> dict[str, Any]:
    """A page's customers by id."""
    return {edge["node"]["id"]: edge["node"] for edge in page["customers"]["edges"]}


async def versions_in_use(running: Running) -> dict[int, int]:
    """How many values each data-key version seals, over every encrypted column."""
    totals: dict[int, int] = {}
    for per_version in (await sealed_counts(running.state.database)).values():
        for version, count in per_version.items():
            totals[version] = totals.get(version, 0) + count
    return totals


async def test_a_server_reads_values_resealed_under_a_key_it_has_not_loaded(
    unaware: Running,
) -> None:
    alice = unaware.world.alice
    change = {"input": {"id": to_global_id("Customer", alice.id), "version": 1, "email": "r@x.cn"}}
    first = await unaware.post(UPDATE, change, **{"Idempotency-Key": "before-rotation"})
    assert first.status_code == 200, first.text
    before = no_errors(await unaware.graphql(PAGE))
    assert unaware.state.key_ring.active_version == 1

    rotated = await unaware.run_cli("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    refused = await unaware.run_cli("keys", "retire", "1")
    assert refused.returncode == 1
    assert "values are still sealed under data key v1" in refused.stderr
    moved = await unaware.run_cli("keys", "reencrypt", "--settle-seconds", "0")
    assert moved.returncode == 0, moved.stderr
    assert set(await versions_in_use(unaware)) == {2}
    stored = await sealed_counts(unaware.state.database)
    assert stored[("idempotency_records", "response")] == {2: 1}, "the stored response moved too"
    assert set(stored[("customer_keys", "wrapped_key")]) == {2}, "the customers' keys re-wrapped"
    # The customers' values are under their own keys, which the server holds opened; as a
    # server that started since (or dropped them from its cache) it opens them again, now
    # wrapped under v2, which it has not loaded.
    unaware.state.keys.ring.customer_keys = CustomerKeyCache()

    reloads = unaware.state.keys.reloads
    bob = to_global_id("Customer", unaware.world.bob.id)
    moved_bob = no_errors(  # a mutation: strawberry's executor, not the compiled one
        await unaware.graphql(MOVE, {"input": {"id": bob, "version": 1, "address": "上海市1号"}})
    )
    after = no_errors(await unaware.graphql(PAGE))

    before_nodes, after_nodes = nodes(before), nodes(after)
    assert moved_bob["updateCustomer"]["customer"] == {
        key: before_nodes[bob][key] for key in ("id", "name", "email")
    }
    before_nodes[bob].pop("address"), after_nodes[bob].pop("address")  # changed on purpose
    assert after_nodes == before_nodes
    assert unaware.state.keys.reloads == reloads + 1, "one reload for every re-sealed value"
    assert unaware.state.key_ring.versions == (1, 2)
    replayed = await unaware.post(UPDATE, change, **{"Idempotency-Key": "before-rotation"})
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == first.json()
    revealed = no_errors(
        await unaware.graphql(REVEAL_EMAIL, {"id": to_global_id("Customer", alice.id)})
    )
    assert revealed["revealCustomerPii"]["values"] == [{"value": "r@x.cn"}]


async def test_a_version_unknown_even_after_a_reload_is_key_unavailable_and_reloads_are_bounded(
    unaware: Running,
) -> None:
    alice = unaware.world.alice
    stray = KeyRing({99: os.urandom(32)}, os.urandom(32))
    async with unaware.state.database.session() as session:
        await session.execute(
            update(Customer)
            .where(Customer.id == alice.id)  # type: ignore[arg-type]
            .values(
                email_enc=stray.seal("x@example.com", aad_for("customers", "email_enc", alice.id))
            )
        )
        await session.commit()
    reloads = unaware.state.keys.reloads

    bodies = await asyncio.gather(*(unaware.graphql(PAGE) for _ in range(10)))

    for body in bodies:
        codes = {error["extensions"]["code"] for error in body["errors"]}
        assert codes == {"KEY_UNAVAILABLE"}, body["errors"]
        assert "data key v99" in body["errors"][0]["message"]
    assert 1 <= unaware.state.keys.reloads - reloads <= 2, "a reload per second at most"


@dataclass
class Writer:
    """Saves a customer's e-mail and address over HTTP in a loop, reading a page between."""

    running: Running
    customer_id: str
    writes: int = 0
    failures: list[Any] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        version = 1
        while not self.stop.is_set():
            body = await self.running.graphql(
                UPDATE,
                {
                    "input": {
                        "id": self.customer_id,
                        "version": version,
                        "email": f"w{self.writes}@example.com",
                        "address": f"北京市朝阳区建国路{self.writes}号",
                    }
                },
            )
            payload = (body.get("data") or {}).get("updateCustomer") or {}
            if body.get("errors") or payload.get("userErrors"):
                self.failures.append(body)
                return
            version = payload["customer"]["version"]
            self.writes += 1
            page = await self.running.graphql(PAGE)
            if page.get("errors"):
                self.failures.append(page)
                return


async def test_reencrypt_beside_a_writing_server_leaves_nothing_under_the_old_key(
    watching: Running,
) -> None:
    writer = Writer(watching, to_global_id("Customer", watching.world.alice.id))
    writing = asyncio.create_task(writer.run())
    try:
        rotated = await watching.run_cli("keys", "rotate")
        assert rotated.returncode == 0, rotated.stderr
        moved = await watching.run_cli("keys", "reencrypt", "--batch-size", "5")
        assert moved.returncode == 0, moved.stderr
        writes_during = writer.writes
        await asyncio.sleep(0.5)  # the server keeps writing after the run ended
    finally:
        writer.stop.set()
        await writing

    assert writer.failures == []
    assert writes_during > 0
    assert writer.writes > writes_during
    assert "every value is sealed under data key v2" in moved.stdout
    assert await versions_in_use(watching) == {2: sum((await versions_in_use(watching)).values())}
    status = await watching.run_cli("keys", "status")
    assert status.returncode == 0, status.stderr
    assert "values under an older version than v2: 0" in status.stdout
    retired = await watching.run_cli("keys", "retire", "1")
    assert retired.returncode == 0, retired.stderr
    newest = await watching.run_cli("keys", "retire", "2")
    assert newest.returncode == 1
    assert "is the newest" in newest.stderr
