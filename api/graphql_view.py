"""The GraphQL endpoint: strawberry's ASGI view with bearer authentication and a session.

Every HTTP request needs a valid access token before anything is parsed; without one the
answer is HTTP 401 with an UNAUTHENTICATED error body. Each request gets one database session,
closed when the response is done, and responses are encoded with orjson.

Subscriptions run over WebSocket, ``graphql-transport-ws`` only. The same bearer token comes in
the ``connection_init`` payload; without a valid one the connection is closed with 4403
Forbidden (the protocol's rejection) before any operation runs. The connection is closed with
4401 "token expired" when its token expires, and may hold at most
``max_subscriptions_per_connection`` operations at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError, OperationType
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.unset import UnsetType

from api import idempotency
from api.context import ConnectionContext, Context, RequestDatabase
from api.errors import INTERNAL_ERROR_MESSAGE, ErrorCode, Unauthenticated
from api.middleware import current_request_id
from api.operations import operation_type
from api.responses import error_response
from api.state import AppState
from auth.principal import Principal

logger = logging.getLogger("cardcrm.http")


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send an access token: `Authorization: Bearer <token>`")
    return token.strip()


def connection_token(params: dict[str, object]) -> str:
    """The token in a ``connection_init`` payload: ``{"Authorization": "Bearer <token>"}``
    as an HTTP header would carry it, or ``{"token": "<token>"}`` for clients that cannot."""
    authorization = params.get("Authorization", params.get("authorization"))
    if isinstance(authorization, str):
        return bearer_token(authorization)
    token = params.get("token")
    if isinstance(token, str) and token.strip():
        return token.strip()
    raise Unauthenticated('send `{"Authorization": "Bearer <token>"}` in connection_init')


def _client_addr(request: Request | WebSocket) -> str | None:
    return request.client.host if request.client else None


TOKEN_EXPIRED = 4401
ONLY_SUBSCRIPTIONS = "only subscriptions run over WebSocket; send queries and mutations over HTTP"
_MAX_PREPARSE_TOKENS = 2000


class SubscriptionHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """strawberry's ``graphql-transport-ws`` handler, with the connection's limits.

    The context is a ``ConnectionContext`` (``get_context``). Queries and mutations are
    refused here: they belong on HTTP, where idempotency and the request session apply.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_subscriptions_per_connection = (
            self.context.settings.max_subscriptions_per_connection
        )
        self._expiry: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._expiry is None:
            self._expiry = asyncio.create_task(self._close_at(self.context.principal.expires_at))
            self._expiry.add_done_callback(self._task_done)

    async def _close_at(self, expires_at: int) -> None:
        """A connection outlives no token: when it expires, its streams stop and it closes."""
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        await self.websocket.close(code=TOKEN_EXPIRED, reason="token expired")

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message["payload"]
        kind = (
            operation_type(
                payload.get("query"), payload.get("operationName"), max_tokens=_MAX_PREPARSE_TOKENS
            )
            if self.connection_acknowledged
            else None
        )
        if kind not in (None, OperationType.SUBSCRIPTION):
            extensions = {
                "code": ErrorCode.BAD_USER_INPUT.value,
                "requestId": self.context.request_id,
            }
            error = GraphQLError(ONLY_SUBSCRIPTIONS, extensions=extensions)
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)

    async def shutdown(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        await super().shutdown()


class CardcrmGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = SubscriptionHandler

    def __init__(self, schema: Any, **kwargs: Any) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            **kwargs,
        )

    def encode_json(self, data: object) -> bytes:  # type: ignore[override]
        return orjson.dumps(data)

    async def parse_http_body(self, request: Any) -> Any:
        """strawberry reads the body's fields with ``data.get``; a JSON body that is not an
        object fails there, and is the caller's mistake: 400 BAD_USER_INPUT, not a 500."""
        try:
            return await super().parse_http_body(request)
        except AttributeError as exc:
            raise HTTPException(400, "the request body must be a JSON object") from exc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await self._handle_http(request)
        await response(scope, receive, send)

    async def _handle_http(self, request: Request) -> Response:
        try:
            return await self._authenticated(request)
        except Exception as exc:  # the last line of defence: JSON, a request id, no stack
            logger.error("unexpected %s (request %s)", type(exc).__name__, current_request_id())
            return error_response(500, ErrorCode.INTERNAL_SERVER_ERROR, INTERNAL_ERROR_MESSAGE)

    async def _authenticated(self, request: Request) -> Response:
        state: AppState = request.app.state.cardcrm
        try:
            principal = state.tokens.verify(bearer_token(request.headers.get("authorization")))
        except Unauthenticated as exc:
            return error_response(
                401,
                ErrorCode.UNAUTHENTICATED,
                exc.message,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        request.state.principal = principal
        claim = await self._idempotency_claim(request, principal)
        if isinstance(claim, Response):
            return claim
        if claim is None:
            return await self._execute(request, state)
        try:
            replay = await idempotency.claim_or_replay(state.database, claim)
        except idempotency.KeyConflict as exc:
            return error_response(409, ErrorCode.CONFLICT, str(exc))
        if replay is not None:
            return Response(
                replay, media_type="application/json", headers={"Idempotent-Replayed": "true"}
            )
        try:
            response = await self._execute(request, state)
        except BaseException:
            await idempotency.release(state.database, claim)
            raise
        if response.status_code == 200:
            await idempotency.record(state.database, claim, bytes(response.body))
        else:
            await idempotency.release(state.database, claim)
        return response

    async def _execute(self, request: Request, state: AppState) -> Response:
        async with state.database.session() as session:
            request.state.db = RequestDatabase(session)
            try:
                return await self.run(request)
            except HTTPException as exc:
                return error_response(exc.status_code, ErrorCode.BAD_USER_INPUT, exc.reason)

    async def _idempotency_claim(
        self, request: Request, principal: Principal
    ) -> idempotency.Claim | Response | None:
        """The claim for a POSTed mutation carrying an Idempotency-Key, else None."""
        key = request.headers.get(idempotency.HEADER)
        if key is None or request.method != "POST":
            return None
        if not 1 <= len(key) <= idempotency.MAX_KEY_LENGTH or not key.isprintable():
            return error_response(
                400,
                ErrorCode.BAD_USER_INPUT,
                f"Idempotency-Key must be 1 to {idempotency.MAX_KEY_LENGTH} printable characters",
            )
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None  # strawberry answers the malformed body
        if (
            not isinstance(payload, dict)
            or operation_type(payload.get("query"), payload.get("operationName"))
            is not OperationType.MUTATION
        ):
            return None
        return idempotency.Claim(principal.audit_actor, key, idempotency.request_hash(payload))

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticates a connection from its ``connection_init`` payload; a refusal makes
        strawberry close it with 4403 Forbidden."""
        try:
            token = connection_token(context.connection_params or {})
            context.principal = context.state.tokens.verify(token)
        except Unauthenticated as exc:
            logger.info("websocket refused: %s (request %s)", exc.message, context.request_id)
            raise ConnectionRejectionError({"message": exc.message}) from exc
        return UnsetType()  # an ack without a payload

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        if isinstance(request, WebSocket):
            return ConnectionContext(
                state=request.app.state.cardcrm,
                request_id=current_request_id(),
                client_addr=_client_addr(request),
            )
        principal: Principal = request.state.principal
        return Context(
            state=request.app.state.cardcrm,
            principal=principal,
            db=request.state.db,
            request_id=current_request_id(),
            client_addr=_client_addr(request),
        )
