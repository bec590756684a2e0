"""Fresh databases of the test's own (see tests/models/conftest.py), and a small
``graphql-transport-ws`` client for the subscription tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from api.app import create_app
from core.settings import Settings
from tests.conftest import _free_port
from tests.models.conftest import empty_database, fresh_database, make_database

__all__ = [
    "STEP_SECONDS",
    "Message",
    "Socket",
    "empty_database",
    "eventually",
    "fresh_database",
    "make_database",
    "serving",
    "signed_in",
    "websocket",
]

GRAPHQL_TRANSPORT_WS = Subprotocol("graphql-transport-ws")
STEP_SECONDS = 5.0  # the longest any one step of a live-update test may take
POLL_SECONDS = 0.01
Message = dict[str, Any]
T = TypeVar("T")


class Socket:
    """A graphql-transport-ws client just big enough to state what the server does."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: Message) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self) -> Message:
        """The next message, which must come as a text frame: ``json.loads`` would read a
        binary one too, but browsers and the ``graphql-ws`` client refuse those."""
        frame = await asyncio.wait_for(self.connection.recv(), STEP_SECONDS)
        assert isinstance(frame, str), f"a binary frame: {frame!r}"
        message: Message = json.loads(frame)
        return message

    async def init(self, payload: Message) -> Message:
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(
        self, operation_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})

    async def next_data(self, operation_id: str) -> Any:
        """The data of the next result, which must be for this operation and error-free."""
        message = await self.receive()
        assert (message["type"], message["id"]) == ("next", operation_id), message
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]

    async def close_status(self) -> tuple[int | None, str | None]:
        """Waits for the server to close the connection: its code and reason."""
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(STEP_SECONDS):
                while True:
                    await self.connection.recv()
        return self.connection.close_code, self.connection.close_reason

    async def messages_until_closed(self) -> list[Message]:
        """Every message the server sends until it closes the connection."""
        messages: list[Message] = []
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(STEP_SECONDS):
                while True:
                    messages.append(await self.receive())
        return messages


@asynccontextmanager
async def websocket(
    base_url: str, subprotocols: list[Subprotocol] | None = None
) -> AsyncIterator[Socket]:
    """A WebSocket to ``/graphql`` of the server at ``base_url`` (http://host:port)."""
    async with connect(
        base_url.replace("http://", "ws://", 1) + "/graphql",
        subprotocols=[GRAPHQL_TRANSPORT_WS] if subprotocols is None else subprotocols,
        open_timeout=STEP_SECONDS,
        close_timeout=STEP_SECONDS,
    ) as connection:
        yield Socket(connection)


@asynccontextmanager
async def signed_in(base_url: str, token: str) -> AsyncIterator[Socket]:
    """A connection the server has acknowledged for ``token``."""
    async with websocket(base_url) as socket:
        ack = await socket.init({"Authorization": f"Bearer {token}"})
        assert ack == {"type": "connection_ack"}, ack
        yield socket


async def eventually(probe: Callable[[], Awaitable[T]], holds: Callable[[T], bool]) -> None:
    """Polls ``probe`` until its value ``holds``, for at most one step."""
    async with asyncio.timeout(STEP_SECONDS):
        while True:
            if holds(await probe()):
                return
            await asyncio.sleep(POLL_SECONDS)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[str, Starlette]]:
    """An app of the test's own on ``settings`` (its database already migrated), served by
    uvicorn on a loopback port like the shared server, and stopped afterwards: its base URL
    and the app (``app.state.cardcrm`` is its AppState)."""
    app = create_app(settings)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        await task
