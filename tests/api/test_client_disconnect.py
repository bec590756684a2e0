"""A client that leaves before its body arrives is logged as 499, not as a server error."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import pytest

from tests.conftest import Server, staff_token
from tests.support import World


async def test_a_client_gone_before_its_body_is_a_499_not_a_500(
    server: Server, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    address = urlsplit(server.base_url)
    token = staff_token(server, world, "demo-agent")
    caplog.set_level(logging.INFO)
    _, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\nAuthorization: Bearer " + token.encode() + b'\r\n\r\n{"que'
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()

    for _ in range(100):
        statuses = [getattr(r, "fields", {}).get("status") for r in caplog.records]
        if 499 in statuses:
            break
        await asyncio.sleep(0.02)
    assert 499 in statuses
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
