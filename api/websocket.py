"""Subscriptions over WebSocket, ``graphql-transport-ws`` only (SPEC §4).

The bearer token comes in the ``connection_init`` payload; without a valid, unexpired one
the connection is closed with 4403 Forbidden (the protocol's rejection) before any
``connection_ack``. An acknowledged connection is closed with 4401 "token expired" when its
token expires, or 4401 "token revoked" at its next ``subscribe`` once the token was revoked
(each event of a running subscription checks that too: ``ConnectionContext.event``), and may
hold at most ``max_subscriptions_per_connection`` operations at once.
Every server message is a text frame.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

import orjson
from graphql import GraphQLError, OperationType
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)

from api.admission.limits import client_policy
from api.admission.operations import operation_type
from api.admission.persisted import PersistedQueries, PersistedQueryRefused
from api.metrics import MeteredSubscriptions
from auth import revocation
from core.context import Context
from core.errors import ErrorCode, Unauthenticated
from core.outage import is_database_outage
from core.settings import Settings

TOKEN_EXPIRED = 4401
TRY_AGAIN_LATER = 1013  # RFC 6455 §7.4.1 (IANA registry): a temporary condition, reconnect later
NOT_AN_OBJECT = "a message must be a JSON object"
ID_NOT_A_STRING = "an operation's `id` must be a string"
ONLY_SUBSCRIPTIONS = "only subscriptions run over WebSocket; send queries and mutations over HTTP"
_MAX_PREPARSE_TOKENS = 2000

logger = logging.getLogger("cardcrm.http")


def malformed(payload: Mapping[str, object]) -> str | None:
    """What is wrong with a ``subscribe`` payload's parameters, as HTTP checks them, if
    anything: the GraphQL execution would otherwise meet them as unexpected errors."""
    if not isinstance(payload.get("query"), str):
        return "send the operation's `query` as a string (or a persisted query's hash)"
    if not isinstance(payload.get("operationName"), str | None):
        return "`operationName` must be a string or null, if given"
    if not isinstance(payload.get("variables"), dict | None):
        return "`variables` must be an object or null, if given"
    if not isinstance(payload.get("extensions"), dict | None):
        return "`extensions` must be an object or null, if given"
    return None


class _View(Protocol):
    settings: Settings
    persisted: PersistedQueries


class TextFrames(ASGIWebSocketAdapter):
    """Every server message as a *text* frame. strawberry sends the encoder's bytes as a
    binary frame, which the ``graphql-ws`` client and browsers refuse ("Message is missing
    the 'type' property", close 4004): graphql-transport-ws messages are JSON text."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class SubscriptionHandler(MeteredSubscriptions[Context, None]):
    """strawberry's ``graphql-transport-ws`` handler, with the connection's limits.

    The context is a ``ConnectionContext`` (the view's ``get_context``). Queries and
    mutations are refused here: they belong on HTTP, where idempotency and the request
    session apply.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_subscriptions_per_connection = (
            self.context.settings.max_subscriptions_per_connection
        )
        self._expiry: asyncio.Task[None] | None = None

    async def handle_message(self, message: Message) -> None:
        """A message that is not an object, or an operation message whose ``id`` is not a
        string, is invalid (4400): strawberry would fail on it with a TypeError, dropping the
        connection without a close code (1006), or keep an operation under a non-string id."""
        received: object = message  # any JSON value, whatever the protocol's types say
        if not isinstance(received, dict):
            await self.handle_invalid_message(NOT_AN_OBJECT)
            return
        operation = received.get("type") in ("subscribe", "complete")
        if operation and "id" in received and not isinstance(received["id"], str):
            await self.handle_invalid_message(ID_NOT_A_STRING)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except Exception as exc:  # checking the token met a database that did not answer?
            if not is_database_outage(exc):
                raise
            logger.warning("websocket %s: the database did not answer", self.context.request_id)
            await self.websocket.close(code=TRY_AGAIN_LATER, reason="database unavailable")
        if self.connection_acknowledged and self._expiry is None:
            self._expiry = asyncio.create_task(self._close_at(self.context.principal.expires_at))
            self._expiry.add_done_callback(self._task_done)

    async def _close_at(self, expires_at: int) -> None:
        """A connection outlives no token: when it expires, its streams stop and it closes."""
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        await self._close(TOKEN_EXPIRED, "token expired")

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message["payload"]
        if not isinstance(payload, dict):  # the protocol's answer to an invalid message
            await self.handle_invalid_message("the subscribe payload must be an object")
            return
        if self.connection_acknowledged:  # persisted queries and the allow-list hold here too
            if await self._token_revoked():
                return
            view: _View = self.view  # type: ignore[assignment]
            policy = client_policy(view.settings, self.context.principal.client_id)
            try:
                payload["query"] = await view.persisted.resolve(  # type: ignore[typeddict-item]
                    payload.get("query"), payload.get("extensions"), allow_list=policy.allow_list
                )
            except PersistedQueryRefused as exc:
                await self._send_error(message["id"], exc.code, exc.message)
                return
            if (refusal := malformed(payload)) is not None:
                await self._send_error(message["id"], ErrorCode.BAD_USER_INPUT, refusal)
                return
        kind = (
            operation_type(
                payload.get("query"), payload.get("operationName"), max_tokens=_MAX_PREPARSE_TOKENS
            )
            if self.connection_acknowledged
            else None
        )
        if kind not in (None, OperationType.SUBSCRIPTION):
            await self._send_error(message["id"], ErrorCode.BAD_USER_INPUT, ONLY_SUBSCRIPTIONS)
            return
        await super().handle_subscribe(message)

    async def _token_revoked(self) -> bool:
        """Closes the connection (4401, its streams stopped) once its token was revoked
        after ``connection_init`` (a reused refresh token's family, a revoked client); 1013
        when the database does not answer the question."""
        try:
            await revocation.ensure_not_revoked(self.context.state.database, self.context.principal)
        except Unauthenticated:
            await self._close(TOKEN_EXPIRED, "token revoked")
            return True
        except Exception as exc:  # as at connection_init: a database that did not answer
            if not is_database_outage(exc):
                raise
            logger.warning("websocket %s: the database did not answer", self.context.request_id)
            await self._close(TRY_AGAIN_LATER, "database unavailable")
            return True
        return False

    async def _close(self, code: int, reason: str) -> None:
        """Stops every stream of the connection, then closes it."""
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        await self.websocket.close(code=code, reason=reason)

    async def _send_error(self, operation_id: str, code: ErrorCode, message: str) -> None:
        extensions = {"code": code.value, "requestId": self.context.request_id}
        error = GraphQLError(message, extensions=extensions)
        await self.send_message({"id": operation_id, "type": "error", "payload": [error.formatted]})

    async def shutdown(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        await super().shutdown()
