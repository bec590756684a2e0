"""``cardcrm privacy exports`` as a worker: without ``--once`` it produces the pending exports
and keeps looking until SIGTERM, then exits 0 with its tally."""

from __future__ import annotations

import asyncio
import signal

import pytest

from core.settings import Settings
from models.privacy.request import PrivacyRequest, PrivacyRequestStatus
from schema.relay import uuid_of
from tests.conftest import Server, customer_token
from tests.models.conftest import CARDCRM, PROJECT_ROOT, FreshDatabase
from tests.support import World, add_customer

pytestmark = pytest.mark.slow
REQUEST = "mutation { requestMyDataExport { request { id } userErrors { code } } }"
WAIT_SECONDS = 30


async def _status(server: Server, request_id: str) -> str:
    async with server.state.database.session() as session:
        row = await session.get(PrivacyRequest, uuid_of(request_id, "PrivacyRequest"))
        assert row is not None
        return row.status


async def test_the_worker_produces_pending_exports_until_sigterm(
    server: Server, world: World, settings: Settings
) -> None:
    token = customer_token(server, await add_customer(server.state, world))
    body = await server.graphql(REQUEST, token=token)
    request_id = body["data"]["requestMyDataExport"]["request"]["id"]

    worker = await asyncio.create_subprocess_exec(
        str(CARDCRM),
        "privacy",
        "exports",
        cwd=PROJECT_ROOT,
        env=FreshDatabase(settings).environment(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for _ in range(WAIT_SECONDS * 10):
            if await _status(server, request_id) == PrivacyRequestStatus.READY:
                break
            assert worker.returncode is None, await worker.communicate()
            await asyncio.sleep(0.1)
        assert await _status(server, request_id) == PrivacyRequestStatus.READY
        worker.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(worker.communicate(), WAIT_SECONDS)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert worker.returncode == 0, err.decode()
    assert "exports produced" in out.decode()
