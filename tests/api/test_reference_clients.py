"""The ecosystem's reference clients against the live test server, not the project's own
helpers: ``graphql-ws`` (the graphql-transport-ws client Apollo Client and urql use) and
``graphql-http``'s ``auditServer`` (the reference audit of the GraphQL-over-HTTP spec).

Their scripts and pinned versions live in tests/clients (package.json, package-lock.json);
the ``node`` fixture (tests/conftest.py) installs them with ``npm ci`` the first time. Without Node and
npm these tests skip (CI has both and turns skips into failures).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from resolvers.service_desk.complaint_channels import assignee_channel
from tests.api.conftest import STEP_SECONDS
from tests.api.test_subscriptions import (
    ASSIGNED_TO_ME,
    assign,
    file_for_alice,
    just_expired_token,
    until_listening,
    until_quiet,
)
from tests.conftest import CLIENTS, Server, staff_token
from tests.support import World

AUDIT_SECONDS = 120


class NodeScript:
    """A script of tests/clients that prints one JSON object per line, read as it runs."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def next_event(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), STEP_SECONDS)
        assert line, f"the script ended: {await self.stderr()}"
        event: dict[str, Any] = json.loads(line)
        return event

    async def events_until_exit(self) -> list[dict[str, Any]]:
        assert self.process.stdout is not None
        output = await asyncio.wait_for(self.process.stdout.read(), STEP_SECONDS)
        return [json.loads(line) for line in output.decode().splitlines()]

    async def stderr(self) -> str:
        assert self.process.stderr is not None
        return (await self.process.stderr.read()).decode()


@asynccontextmanager
async def running(node: str, script: str, *args: str) -> AsyncIterator[NodeScript]:
    process = await asyncio.create_subprocess_exec(
        node,
        script,
        *args,
        cwd=CLIENTS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield NodeScript(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def _ws_url(server: Server) -> str:
    return server.base_url.replace("http://", "ws://", 1) + "/graphql"


# --- graphql-ws ----------------------------------------------------------------------------


async def test_graphql_ws_receives_the_complaint_a_supervisor_assigns(
    server: Server, world: World, node: str
) -> None:
    # given an agent subscribed to assignedToMe with the reference client
    channel = assignee_channel(world.staff["demo-agent"].id)
    await until_quiet(server, channel)
    filed = await file_for_alice(server, world)
    token = staff_token(server, world, "demo-agent")
    async with running(node, "subscribe.mjs", _ws_url(server), token, ASSIGNED_TO_ME) as client:
        assert await client.next_event() == {"event": "opened"}
        assert await client.next_event() == {"event": "connected"}, await client.stderr()
        await until_listening(server, channel)

        # when a supervisor assigns the complaint to them over HTTP
        await assign(server, world, filed, "demo-agent")

        # then the client receives it
        event = await client.next_event()
    assert event["event"] == "next", event
    assert "errors" not in event["payload"], event
    assert event["payload"]["data"]["assignedToMe"]["id"] == filed["id"]
    assert event["payload"]["data"]["assignedToMe"]["status"] == "OPEN"


async def test_graphql_ws_with_a_just_expired_token_is_refused_before_any_ack(
    server: Server, world: World, node: str
) -> None:
    token = await just_expired_token(server, world)
    async with running(node, "subscribe.mjs", _ws_url(server), token, ASSIGNED_TO_ME) as client:
        events = await client.events_until_exit()

    assert {"event": "connected"} not in events, events
    closed = [event for event in events if event["event"] == "closed"]
    assert closed, events
    assert closed[0]["code"] == 4403, events


# --- graphql-http ---------------------------------------------------------------------------


async def test_graphql_http_audit_finds_no_error_no_warning_and_no_5xx(
    server: Server, world: World, node: str
) -> None:
    token = staff_token(server, world, "demo-admin")
    async with running(node, "audit.mjs", f"{server.base_url}/graphql", token) as audit:
        output, errors = await asyncio.wait_for(audit.process.communicate(), AUDIT_SECONDS)
    assert audit.process.returncode == 0, errors.decode()
    results = [json.loads(line) for line in output.decode().splitlines()]

    failing = [
        result
        for result in results
        if result["status"] in ("error", "warn") or result.get("httpStatus", 0) >= 500
    ]
    assert len(results) > 50  # graphql-http 1.23 audits 61 requirements
    assert failing == [], "\n".join(json.dumps(result, ensure_ascii=False) for result in failing)
