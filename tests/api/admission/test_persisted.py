"""Persisted queries (SPEC §4, "Transport"): Apollo's automatic persisted queries over POST
and GET, the allow-list mode with its manifests and per-client lists, the Redis store shared
by instances, and ``cardcrm persisted import``.

The shared server keeps APQ texts in memory; the ``allow_listed`` app serves the same
database in allow-list mode with manifests loaded at start-up.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from api.admission.manifest import ManifestError, read_manifest
from api.admission.persisted import RedisStore
from core.identity import Role
from core.settings import Settings
from tests.api.conftest import signed_in
from tests.conftest import Server, staff_token
from tests.models.conftest import CARDCRM, CLI_TIMEOUT_SECONDS, PROJECT_ROOT
from tests.security.conftest import codes, nothing_ran, running_app, variant
from tests.support import World

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LISTED = "query Tiers { tiers { name } }"
PARTNER = "query Ranks { tiers { rank } }"
UNLISTED = "query Codes { tiers { code } }"
ASSIGNED = "subscription Assigned { assignedToMe { id } }"
MUTATION = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } userErrors { code message } }
}
"""


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha(text)}}


def apollo_manifest(*texts: str) -> dict[str, Any]:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha(text), "name": f"Op{i}", "type": "query", "body": text}
            for i, text in enumerate(texts)
        ],
    }


async def send(
    server: Server,
    token: str,
    *,
    query: str | None = None,
    extensions: dict[str, Any] | None = None,
    get: bool = False,
    variables: dict[str, Any] | None = None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if get:
        params = {
            name: json.dumps(value) if isinstance(value, dict) else value
            for name, value in (
                ("query", query),
                ("extensions", extensions),
                ("variables", variables),
            )
            if value is not None
        }
        return await server.client.get("/graphql", params=params, headers=headers)
    body = {"query": query, "extensions": extensions, "variables": variables}
    return await server.client.post(
        "/graphql", json={k: v for k, v in body.items() if v is not None}, headers=headers
    )


async def redis_or_skip() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), timeout=2)
    except Exception:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    finally:
        await client.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in Redis, cleared afterwards."""
    await redis_or_skip()
    from redis.asyncio import Redis

    prefix = f"cardcrm-test:{uuid.uuid4().hex[:10]}:pq:"
    yield prefix
    client = Redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(scope="module")
async def allow_listed(
    server: Server, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    manifests = tmp_path_factory.mktemp("manifests")
    (manifests / "apollo.json").write_bytes(orjson.dumps(apollo_manifest(LISTED)))
    (manifests / "relay.json").write_bytes(orjson.dumps({"e5f6a7b8c9d0": PARTNER}))
    allow_list = variant(
        settings,
        persisted_allow_list_only=True,
        persisted_manifests={
            "default": manifests / "apollo.json",
            "partners": manifests / "relay.json",
        },
        client_allow_lists={"partner-x": "partners"},
    )
    async with running_app(allow_list) as app:
        yield app


def _partner_token(server: Server, world: World, username: str = "demo-agent") -> str:
    user = world.staff[username]
    return server.state.tokens.issue(
        subject=str(user.id),
        role=Role(user.role),
        client_id="partner-x",
        branch_id=user.branch_id,
        username=user.username,
    )


# Automatic persisted queries ---------------------------------------------------------------


async def test_an_unknown_hash_is_persisted_query_not_found_as_apollo_clients_expect(
    server: Server, world: World
) -> None:
    text = f"query Unknown{uuid.uuid4().hex} {{ tiers {{ name }} }}"
    async with nothing_ran(server):
        response = await send(
            server, staff_token(server, world, "demo-agent"), extensions=apq(text)
        )
    assert response.status_code == 200
    assert codes(response.json()) == {"PERSISTED_QUERY_NOT_FOUND"}
    assert response.json()["errors"][0]["message"] == "PersistedQueryNotFound"


async def test_a_registered_query_runs_by_its_hash_over_post_and_get(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    text = f"query Registered{uuid.uuid4().hex}($first: Int) {{ customers(first: $first) {{ totalCount }} }}"
    variables = {"first": 2}
    first = await send(server, token, query=text, extensions=apq(text), variables=variables)
    by_post = await send(server, token, extensions=apq(text), variables=variables)
    by_get = await send(server, token, extensions=apq(text), variables=variables, get=True)
    for response in (first, by_post, by_get):
        assert response.status_code == 200, response.text
        assert response.json()["data"]["customers"]["totalCount"] > 0
    assert by_get.json() == by_post.json() == first.json()


async def test_a_hash_that_does_not_match_its_query_is_refused_and_not_stored(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    text = f"query Mismatch{uuid.uuid4().hex} {{ tiers {{ name }} }}"
    wrong = apq(text + " ")
    async with nothing_ran(server):
        refused = await send(server, token, query=text, extensions=wrong)
        later = await send(server, token, extensions=wrong)
    assert refused.status_code == 400
    assert codes(refused.json()) == {"BAD_USER_INPUT"}
    assert codes(later.json()) == {"PERSISTED_QUERY_NOT_FOUND"}


@pytest.mark.parametrize(
    "persisted",
    [{"version": 2, "sha256Hash": "0" * 64}, {"version": 1, "sha256Hash": "abc"}, "yes"],
)
async def test_a_malformed_persisted_query_extension_is_bad_user_input(
    server: Server, world: World, persisted: object
) -> None:
    async with nothing_ran(server):
        response = await send(
            server,
            staff_token(server, world, "demo-agent"),
            query=LISTED,
            extensions={"persistedQuery": persisted},
        )
    assert response.status_code == 400
    assert codes(response.json()) == {"BAD_USER_INPUT"}


async def test_a_persisted_mutation_never_runs_by_get(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-agent")
    text = MUTATION + f"# {uuid.uuid4().hex}"
    variables = {"input": {"name": "x", "birthDate": "1990-01-01", "idNumber": "1", "phone": "1"}}
    async with nothing_ran(server):
        with_text = await send(server, token, query=text, extensions=apq(text), get=True)
        by_hash = await send(server, token, extensions=apq(text), variables=variables, get=True)
    for response in (with_text, by_hash):
        assert response.status_code == 405, response.text  # GraphQL over HTTP's answer
        assert response.headers["allow"] == "POST"
        assert codes(response.json()) == {"BAD_USER_INPUT"}
        assert "mutations are not allowed" in response.json()["errors"][0]["message"]


async def test_a_persisted_mutation_retried_by_hash_replays_its_idempotent_response(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    text = MUTATION + f"# {uuid.uuid4().hex}"
    invalid = {"input": {"name": "x", "birthDate": "1990-01-01", "idNumber": "1", "phone": "1"}}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
    body = {"extensions": apq(text), "variables": invalid}
    first = await server.client.post("/graphql", json={**body, "query": text}, headers=headers)
    again = await server.client.post("/graphql", json=body, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["data"]["createCustomer"]["userErrors"]  # refused: nothing written
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


# Allow-list mode ---------------------------------------------------------------------------


async def test_a_listed_operation_runs_by_hash_by_get_and_as_text(
    server: Server, allow_listed: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    responses = [
        await send(allow_listed, token, extensions=apq(LISTED)),
        await send(allow_listed, token, extensions=apq(LISTED), get=True),
        await send(allow_listed, token, query=LISTED),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert response.json()["data"]["tiers"]


async def test_an_unlisted_operation_does_not_run_even_for_the_admin(
    server: Server, allow_listed: Server, world: World
) -> None:
    for username in ("demo-agent", "demo-admin"):
        token = staff_token(server, world, username)
        async with nothing_ran(allow_listed):
            as_text = await send(allow_listed, token, query=UNLISTED)
            registering = await send(allow_listed, token, query=UNLISTED, extensions=apq(UNLISTED))
            by_hash = await send(allow_listed, token, extensions=apq(UNLISTED))
        for refused in (as_text, registering):
            assert refused.status_code == 403
            assert codes(refused.json()) == {"FORBIDDEN"}
        assert codes(by_hash.json()) == {"PERSISTED_QUERY_NOT_FOUND"}  # nothing was registered


async def test_each_client_runs_only_its_own_allow_list(
    server: Server, allow_listed: Server, world: World
) -> None:
    console = staff_token(server, world, "demo-agent")
    partner = _partner_token(server, world)
    ranks = await send(allow_listed, partner, extensions=apq(PARTNER))
    async with nothing_ran(allow_listed):
        partner_default = await send(allow_listed, partner, query=LISTED)
        console_partner = await send(allow_listed, console, query=PARTNER)
    assert ranks.json()["data"]["tiers"][0]["rank"] is not None
    assert codes(partner_default.json()) == codes(console_partner.json()) == {"FORBIDDEN"}


async def test_an_unlisted_subscription_is_refused_on_the_websocket(
    server: Server, allow_listed: Server, world: World
) -> None:
    async with signed_in(allow_listed.base_url, staff_token(server, world, "demo-agent")) as ws:
        await ws.subscribe("s1", ASSIGNED)
        message = await ws.receive()
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"


# Manifests ---------------------------------------------------------------------------------


def test_an_apollo_manifest_is_read_by_the_hash_of_each_body() -> None:
    assert read_manifest(apollo_manifest(LISTED, PARTNER)) == {
        sha(LISTED): LISTED,
        sha(PARTNER): PARTNER,
    }


def test_a_relay_manifest_is_stored_under_the_sha256_of_each_text() -> None:
    assert read_manifest({"5d41402abc4b2a76b9719d911017c592": LISTED}) == {sha(LISTED): LISTED}


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        (
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {"id": sha(PARTNER), "name": "Tiers", "type": "query", "body": LISTED}
                ],
            },
            "not the SHA-256 of its text",
        ),
        ({"abc": "query { tiers { name "}, "does not parse"),
        (
            {"format": "apollo-persisted-query-manifest", "version": 2, "operations": []},
            "version 1",
        ),
        ([LISTED], "expected Apollo's manifest"),
        ({}, "expected Apollo's manifest"),
    ],
)
def test_a_manifest_that_disagrees_with_itself_is_refused_whole(manifest: Any, reason: str) -> None:
    with pytest.raises(ManifestError, match=reason):
        read_manifest(manifest)


# Redis: shared by instances, and filled by the command -------------------------------------


async def test_the_redis_store_keeps_registrations_for_their_ttl_and_lists_for_good(
    redis_prefix: str,
) -> None:
    store = RedisStore(REDIS_URL, prefix=redis_prefix, ttl_seconds=60)
    try:
        await store.put(sha(LISTED), LISTED)
        await store.add_to_list("default", {sha(PARTNER): PARTNER})
        assert await store.get(sha(LISTED)) == LISTED
        assert await store.get(sha(PARTNER)) is None
        assert await store.listed("default", sha(PARTNER)) == PARTNER
        assert await store.listed("other", sha(PARTNER)) is None
        ttl = await store._redis.ttl(f"{redis_prefix}apq:{sha(LISTED)}")
        assert 0 < ttl <= 60
    finally:
        await store.close()


async def test_a_query_registered_on_one_instance_runs_by_hash_on_another(
    server: Server, settings: Settings, world: World, redis_prefix: str
) -> None:
    shared = variant(settings, redis_url=REDIS_URL, persisted_key_prefix=redis_prefix)
    token = staff_token(server, world, "demo-agent")
    text = f"query Shared{uuid.uuid4().hex} {{ tiers {{ name }} }}"
    async with running_app(shared) as one, running_app(shared) as other:
        missing = await send(other, token, extensions=apq(text))
        registered = await send(one, token, query=text, extensions=apq(text))
        found = await send(other, token, extensions=apq(text), get=True)
    assert codes(missing.json()) == {"PERSISTED_QUERY_NOT_FOUND"}
    assert registered.json()["data"] == found.json()["data"]


def _cli(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARDCRM_") and k != "REDIS_URL"}
    env.update(NO_COLOR="1", TERM="dumb", COLUMNS="200", **environment)
    return subprocess.run(
        [str(CARDCRM), "persisted", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


async def test_cardcrm_persisted_import_fills_the_allow_list_every_instance_reads(
    server: Server, settings: Settings, world: World, redis_prefix: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(orjson.dumps(apollo_manifest(UNLISTED, PARTNER)))
    imported = await asyncio.to_thread(
        _cli,
        "import",
        str(manifest),
        REDIS_URL=REDIS_URL,
        CARDCRM_PERSISTED_KEY_PREFIX=redis_prefix,
    )
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 operations into allow-list 'default'" in imported.stdout
    allow_list = variant(
        settings,
        redis_url=REDIS_URL,
        persisted_key_prefix=redis_prefix,
        persisted_allow_list_only=True,
    )
    token = staff_token(server, world, "demo-agent")
    async with running_app(allow_list) as app:
        by_hash = await send(app, token, extensions=apq(UNLISTED))
        other = await send(app, token, query=LISTED)
    assert by_hash.json()["data"]["tiers"][0]["code"]
    assert codes(other.json()) == {"FORBIDDEN"}


async def test_cardcrm_persisted_import_names_what_is_missing(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(orjson.dumps(apollo_manifest(LISTED)))
    no_redis = await asyncio.to_thread(_cli, "import", str(manifest))
    manifest.write_text('{"abc": "query {"}')
    broken = await asyncio.to_thread(_cli, "import", str(manifest), REDIS_URL=REDIS_URL)
    assert no_redis.returncode == broken.returncode == 1
    assert "REDIS_URL" in no_redis.stderr
    assert "CARDCRM_PERSISTED_MANIFESTS" in no_redis.stderr
    assert "does not parse" in broken.stderr
    assert "Traceback" not in no_redis.stderr + broken.stderr
