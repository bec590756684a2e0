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
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from api import idempotency, rate_limit
from api.body_limit import BodyTooLarge
from api.compiled.operations import CompiledOperations
from api.context import ConnectionContext, Context, RequestDatabase
from api.errors import INTERNAL_ERROR_MESSAGE, ErrorCode, Unauthenticated
from api.limits import APP_VERSION_HEADER, ClientPolicy, applying, client_policy
from api.metrics import MeteredSubscriptions
from api.middleware import current_request_id
from api.observability import note_principal
from api.operations import operation_type
from api.outage import is_database_outage
from api.persisted import PersistedQueries, PersistedQueryRefused, create_store
from api.responses import error_response, too_complex_response, unavailable_response
from api.settings import Settings
from api.state import AppState
from auth import revocation
from auth.authenticate import authenticate
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


def _unauthenticated(error: Unauthenticated) -> Response:
    return error_response(
        401,
        ErrorCode.UNAUTHENTICATED,
        error.message,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def _client_addr(request: Request | WebSocket) -> str | None:
    return request.client.host if request.client else None


TOKEN_EXPIRED = 4401
TRY_AGAIN_LATER = 1013  # RFC 6455 §7.4.1 (IANA registry): a temporary condition, reconnect later
# Logged for a request whose client went away before it was read (nginx's convention).
CLIENT_CLOSED_REQUEST = 499
ONLY_SUBSCRIPTIONS = "only subscriptions run over WebSocket; send queries and mutations over HTTP"
_MAX_PREPARSE_TOKENS = 2000


class SubscriptionHandler(MeteredSubscriptions[Context, None]):
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
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        await self.websocket.close(code=TOKEN_EXPIRED, reason="token expired")

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message["payload"]
        if self.connection_acknowledged:  # persisted queries and the allow-list hold here too
            view: CardcrmGraphQL = self.view  # type: ignore[assignment]
            policy = client_policy(view.settings, self.context.principal.client_id)
            try:
                payload["query"] = await view.persisted.resolve(  # type: ignore[typeddict-item]
                    payload.get("query"), payload.get("extensions"), allow_list=policy.allow_list
                )
            except PersistedQueryRefused as exc:
                await self._send_error(message["id"], exc.code, exc.message)
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

    async def _send_error(self, operation_id: str, code: ErrorCode, message: str) -> None:
        extensions = {"code": code.value, "requestId": self.context.request_id}
        error = GraphQLError(message, extensions=extensions)
        await self.send_message({"id": operation_id, "type": "error", "payload": [error.formatted]})

    async def shutdown(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        await super().shutdown()


class CardcrmGraphQL(GraphQL[Context, None]):
    """GraphiQL stays off (``graphql_ide=None``): its page loads assets from a CDN. Queries
    also run by GET (for CDN-cached persisted queries), mutations never; a POST must be JSON.
    """

    graphql_transport_ws_handler_class = SubscriptionHandler

    def __init__(self, schema: Any, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            **kwargs,
        )
        self.settings = settings
        self.persisted = PersistedQueries(
            create_store(settings), settings.persisted_allow_list_only
        )
        self.compiled = (
            CompiledOperations(schema, settings) if settings.compiled_operations else None
        )

    def encode_json(self, data: object) -> bytes:  # type: ignore[override]
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """orjson, as for responses; its ``JSONDecodeError`` subclasses ``json``'s, which
        strawberry answers with 400."""
        return orjson.loads(data)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Without an IDE, a GET with no ``query`` is a persisted query, not a page view."""
        return self.graphql_ide is not None and super().should_render_graphql_ide(request)

    async def parse_http_body(self, request: Any) -> Any:
        """strawberry reads the body's fields with ``data.get``; a JSON body that is not an
        object fails there, and is the caller's mistake: 400 BAD_USER_INPUT, not a 500. A
        form-encoded POST (what a cross-site form sends without a preflight) is 415."""
        media_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and media_type != "application/json":
            raise HTTPException(415, "send the operation as `Content-Type: application/json`")
        try:
            return await super().parse_http_body(request)
        except AttributeError as exc:
            raise HTTPException(400, "the request body must be a JSON object") from exc

    def _validate_batch_request(self, request_data: list[Any], protocol: Any) -> None:
        """Batched (array) requests: off unless ``batching_enabled``, and bounded."""
        limit = self.settings.max_batch_size
        if not self.settings.batching_enabled:
            raise HTTPException(400, "batched requests are off; send one operation per request")
        if not 1 <= len(request_data) <= limit:
            raise HTTPException(400, f"a batch holds 1 to {limit} operations")

    async def execute_operation(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Runs the request's operations once the text of each is known: sent, or found by
        its persisted-query hash. Every one is resolved before any of a batch runs. A single
        query with a plan runs on the compiled executor (``api.compiled``), anything else
        (and any query whose plan meets an error) on strawberry's."""
        data: GraphQLRequestData | list[GraphQLRequestData] = kwargs["request_data"]
        allow_list = request.state.client_policy.allow_list
        for operation in data if isinstance(data, list) else [data]:
            operation.query = await self.persisted.resolve(  # type: ignore[assignment]
                operation.query, operation.extensions, allow_list=allow_list
            )
        if self.compiled is not None and not isinstance(data, list) and data.protocol == "http":
            compiled = await self.compiled.execute(
                data.query, data.operation_name, data.variables, kwargs["context"]
            )
            if compiled is not None:
                return ExecutionResult(data=compiled, errors=None)
        return await super().execute_operation(request, *args, **kwargs)

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
        except BodyTooLarge:
            raise  # api.body_limit answers 413
        except ClientDisconnect:  # the caller left before its body arrived: nobody to answer
            logger.info("client disconnected (request %s)", current_request_id())
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        except Exception as exc:  # the last line of defence: JSON, a request id, no stack
            if is_database_outage(exc):
                return unavailable_response(self.settings.database_retry_after_seconds, exc)
            logger.error("unexpected %s (request %s)", type(exc).__name__, current_request_id())
            return error_response(500, ErrorCode.INTERNAL_SERVER_ERROR, INTERNAL_ERROR_MESSAGE)

    async def _authenticated(self, request: Request) -> Response:
        state: AppState = request.app.state.cardcrm
        try:
            token = bearer_token(request.headers.get("authorization"))
            principal = await authenticate(state, token)
        except Unauthenticated as exc:
            return _unauthenticated(exc)
        if (refused := await rate_limit.principal_refusal(request, principal)) is not None:
            return refused  # before the body is read or any SQL runs
        try:
            await revocation.ensure_not_revoked(state.database, principal)
        except Unauthenticated as exc:
            return _unauthenticated(exc)
        request.state.principal = principal
        request.state.client_policy = client_policy(
            self.settings, principal.client_id, request.headers.get(APP_VERSION_HEADER)
        )
        note_principal(principal)
        claim = await self._idempotency_claim(request, principal)
        if isinstance(claim, Response):
            return claim
        if claim is None:
            return await self._execute(request, state)
        try:
            replay = await idempotency.claim_or_replay(state.database, state.key_ring, claim)
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
            await idempotency.record(state.database, state.key_ring, claim, bytes(response.body))
        else:
            await idempotency.release(state.database, claim)
        return response

    async def _execute(self, request: Request, state: AppState) -> Response:
        """Runs the operation on the request's session, whose end (a rollback, on a database
        that may not answer) is within the deadline too; an answer made before it stands."""
        policy: ClientPolicy = request.state.client_policy
        deadline = asyncio.timeout(self.settings.execution_timeout_seconds)
        session = state.database.sessions()
        db = request.state.db = RequestDatabase(session)
        response: Response | None = None
        try:
            with applying(policy):
                async with deadline, session:
                    response = await self.run(request)
                    await session.close()  # here, not in __aexit__: that one is shielded
        except TimeoutError:
            if not deadline.expired():
                raise
            response = response or self._timed_out(db)
        except HTTPException as exc:
            return error_response(exc.status_code, ErrorCode.BAD_USER_INPUT, exc.reason)
        except PersistedQueryRefused as exc:
            return error_response(exc.status, exc.code, exc.message)
        assert response is not None
        if db.outage is None:
            return response  # else its errors say SERVICE_UNAVAILABLE; so must the status
        return unavailable_response(self.settings.database_retry_after_seconds, db.outage)

    def _timed_out(self, db: RequestDatabase) -> Response:
        if db.interrupted_waiting or db.outage is not None:  # the database was what was slow
            return unavailable_response(self.settings.database_retry_after_seconds, db.outage)
        return too_complex_response(self.settings.execution_timeout_seconds)

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
        if not isinstance(payload, dict):
            return None
        query = payload.get("query")
        if query is None:  # a persisted query, sent by its hash
            allow_list = request.state.client_policy.allow_list
            query = await self.persisted.peek(payload.get("extensions"), allow_list=allow_list)
        kind = operation_type(
            query, payload.get("operationName"), max_tokens=self.settings.max_query_tokens
        )
        if kind is not OperationType.MUTATION:
            return None
        request_hash = idempotency.request_hash({**payload, "query": query})  # text or hash alike
        return idempotency.Claim(principal.audit_actor, key, request_hash)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticates a connection from its ``connection_init`` payload; a refusal makes
        strawberry close it with 4403 Forbidden."""
        try:
            token = connection_token(context.connection_params or {})
            principal = await authenticate(context.state, token)
            await revocation.ensure_not_revoked(context.state.database, principal)
            context.principal = principal
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
