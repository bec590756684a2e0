"""The GraphQL endpoint: strawberry's ASGI view with bearer authentication and a session.

Every HTTP request needs a valid access token before anything is parsed; without one the
answer is HTTP 401 with an UNAUTHENTICATED error body. Each request gets one database session,
closed when the response is done, and responses are encoded with orjson, in the media type
the client accepts (``api.responses``). Subscriptions run over WebSocket (``api.websocket``),
never over HTTP.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from json import JSONDecodeError
from typing import Any, cast

import orjson
from cross_web import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from api import explorer, idempotency, rate_limit
from api.admission.limits import APP_VERSION_HEADER, applying, client_policy
from api.admission.persisted import PersistedQueries, PersistedQueryRefused, create_store
from api.admission.request import admit_request
from api.bearer import bearer_token, challenge, connection_token
from api.body_limit import BodyTooLarge
from api.compiled.operations import CompiledOperations
from api.deadline import Overrun, answered_then_closed, run_within
from api.middleware import current_request_id
from api.observability import note_principal
from api.responses import (
    GRAPHQL_RESPONSE_JSON,
    error_response,
    refused_request,
    request_error_status,
    response_media_type,
    too_complex_response,
    unavailable_response,
    with_media_type,
)
from api.state import AppState
from api.websocket import SubscriptionHandler, TextFrames
from auth import revocation
from auth.authenticate import authenticate
from core.context import ConnectionContext, Context
from core.errors import INTERNAL_ERROR_MESSAGE, ErrorCode, Unauthenticated
from core.identity import Principal
from core.outage import is_database_outage
from core.request_database import RequestDatabase
from core.settings import Settings

logger = logging.getLogger("cardcrm.http")


def _unauthenticated(error: Unauthenticated) -> Response:
    return error_response(
        401,
        ErrorCode.UNAUTHENTICATED,
        error.message,
        headers={"WWW-Authenticate": challenge(error)},
    )


def _client_addr(request: Request | WebSocket) -> str | None:
    return request.client.host if request.client else None


def _is_request_error(result: ExecutionResult) -> bool:
    """Execution never started: the document did not parse or validate, the variables did not
    coerce, a limit refused it. Such errors have no path; a field error always has one."""
    errors = result.errors or ()
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


# Logged for a request whose client went away before it was read (nginx's convention).
CLIENT_CLOSED_REQUEST = 499
GET_NOT_JSON = "a GET's `variables` and `extensions` must be JSON"


class _JsonBody:
    """The request, its media type lower-cased for strawberry's case-sensitive check."""

    def __init__(self, request: Any) -> None:
        self._request = request
        self.content_type = (request.content_type or "").lower()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


class CardcrmGraphQL(GraphQL[Context, None]):
    """strawberry's own GraphiQL stays off (``graphql_ide=None``): its page loads assets from
    a CDN. A browser's GET gets ``api.explorer``'s page instead, outside production. Queries
    also run by GET (for CDN-cached persisted queries), mutations never; a POST must be JSON.
    """

    graphql_transport_ws_handler_class = SubscriptionHandler
    websocket_adapter_class = TextFrames  # type: ignore[assignment]

    def __init__(self, schema: Any, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            **kwargs,
        )
        self.settings = settings
        self.explorer_enabled = explorer.explorer_enabled(settings)
        self.persisted = PersistedQueries(
            create_store(settings), settings.persisted_allow_list_only
        )
        self.compiled = (
            CompiledOperations(schema, settings) if settings.compiled_operations else None
        )

    def encode_json(self, data: object) -> bytes:  # type: ignore[override]
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """orjson; its ``JSONDecodeError`` subclasses ``json``'s: strawberry answers 400."""
        return orjson.loads(data)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Without an IDE, a GET with no ``query`` is a persisted query, not a page view (the
        explorer's page is answered before authentication, in ``__call__``)."""
        return self.graphql_ide is not None and super().should_render_graphql_ide(request)

    async def parse_http_body(self, request: Any) -> Any:
        """strawberry reads the body's fields with ``data.get``; a JSON body that is not an
        object fails there, and is the caller's mistake: 400 BAD_USER_INPUT, not a 500. A
        form-encoded POST (what a cross-site form sends without a preflight) is 415."""
        media_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and media_type.lower() != "application/json":
            raise HTTPException(415, "send the operation as `Content-Type: application/json`")
        try:
            data = await super().parse_http_body(_JsonBody(request))  # type: ignore[arg-type]
        except AttributeError as exc:
            raise HTTPException(400, "the request body must be a JSON object") from exc
        except HTTPException as exc:  # strawberry's message blames a GET's absent body
            if request.method == "GET" and isinstance(exc.__cause__, JSONDecodeError):
                raise HTTPException(400, GET_NOT_JSON) from exc
            raise
        for operation in data if isinstance(data, list) else [data]:
            if not isinstance(operation.operation_name, str | None):  # it keys the plan cache
                raise HTTPException(400, "`operationName` must be a string or null, if given")
        return data

    def _validate_batch_request(self, request_data: list[Any], protocol: Any) -> None:
        """Batched (array) requests: off unless ``batching_enabled``, and bounded."""
        limit = self.settings.max_batch_size
        if not self.settings.batching_enabled:
            raise HTTPException(400, "batched requests are off; send one operation per request")
        if not 1 <= len(request_data) <= limit:
            raise HTTPException(400, f"a batch holds 1 to {limit} operations")

    async def execute_operation(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Runs the request's operations once the text of each is known: sent, or found by
        its persisted-query hash, and the request admitted (``api.admission.request``). A
        single query with a plan runs on the compiled executor (``api.compiled``), anything
        else (and any query whose plan meets an error) on strawberry's; both admit each
        operation alike (``api.admission.admit``)."""
        data: GraphQLRequestData | list[GraphQLRequestData] = kwargs["request_data"]
        request.state.batched = isinstance(data, list)
        await admit_request(
            data if isinstance(data, list) else [data],
            kwargs["context"],
            method=request.method,
            batched=request.state.batched,
            persisted=self.persisted,
            settings=self.settings,
        )
        if self.compiled is not None and not isinstance(data, list) and data.protocol == "http":
            compiled = await self.compiled.execute(
                data.query,
                data.operation_name,
                data.variables,
                kwargs["context"],
                mutations=request.method == "POST",  # strawberry refuses one by GET (405)
            )
            if compiled is not None:
                return compiled
        try:
            return await super().execute_operation(request, *args, **kwargs)
        except HTTPException as exc:  # a mutation by GET: 405, as GraphQL over HTTP says
            if request.method == "GET" and isinstance(exc.__cause__, InvalidOperationTypeError):
                raise HTTPException(405, exc.reason) from exc
            raise

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Under ``application/graphql-response+json`` a request error has no ``data`` entry
        and answers 4xx (``api.responses``); ``application/json`` keeps ``"data": null``."""
        response = await super().process_result(request, result)
        negotiated = getattr(request.state, "media_type", None) == GRAPHQL_RESPONSE_JSON
        if negotiated and not request.state.batched and _is_request_error(result):
            del response["data"]
            codes = ((error.extensions or {}).get("code") for error in result.errors or ())
            request.state.error_status = request_error_status(codes)
        return response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        if self.explorer_enabled and explorer.wants_explorer(request):
            response: Response = explorer.explorer_page(request)  # a page, no data: no token
        else:
            response = await self._handle_http(request)
        await response(scope, receive, send)

    async def _handle_http(self, request: Request) -> Response:
        """Every answer is for its token's holder alone: never stored by a shared cache."""
        response = await self._answer(request)
        response.headers["Cache-Control"] = "private, no-store"
        response.headers.add_vary_header("Authorization")
        return response

    async def _answer(self, request: Request) -> Response:
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
        request.state.media_type = response_media_type(request.headers.get("accept"))
        # The client's policy holds for the rest of the request: api.admission reads it.
        policy = client_policy(
            self.settings, principal.client_id, request.headers.get(APP_VERSION_HEADER)
        )
        note_principal(principal)
        with applying(policy):
            return await self._admitted(request, state, principal)

    async def _admitted(self, request: Request, state: AppState, principal: Principal) -> Response:
        """Runs the request, or replays its stored answer when its Idempotency-Key has one."""
        claim = await idempotency.claim_for(request, principal, self.persisted, self.settings)
        if isinstance(claim, Response):
            return claim
        if claim is None:
            return await self._execute(request, state)
        try:
            replay = await idempotency.claim_or_replay(state.database, state.key_ring, claim)
        except idempotency.KeyConflict as exc:
            return error_response(409, ErrorCode.CONFLICT, str(exc))
        if replay is not None:
            answer = Response(
                replay, media_type="application/json", headers={"Idempotent-Replayed": "true"}
            )
            return with_media_type(answer, request.state.media_type, None)
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
        """Runs the operation on the request's session within the deadline, its end (a
        rollback, on a database that may not answer) included (``api.deadline``): an answer
        made before the deadline stands; the session is closed without the answer waiting."""
        session = state.database.sessions()
        db = request.state.db = RequestDatabase(session)
        answered: list[Response] = []
        try:
            outcome = await run_within(
                answered_then_closed(self.run(request), session, answered),
                self.settings.execution_timeout_seconds,
            )
        except HTTPException as exc:
            return refused_request(exc.status_code, exc.reason, request.method)
        except PersistedQueryRefused as exc:
            return error_response(exc.status, exc.code, exc.message)
        if isinstance(outcome, Overrun):
            if not answered:
                return self._timed_out(db, stuck=outcome.stuck)
            outcome = answered[0]  # only the session's end ran over
        if db.outage is not None:  # its errors say SERVICE_UNAVAILABLE; so must the status
            return unavailable_response(self.settings.database_retry_after_seconds, db.outage)
        status = getattr(request.state, "error_status", None)
        return with_media_type(outcome, request.state.media_type, status)

    def _timed_out(self, db: RequestDatabase, *, stuck: bool) -> Response:
        if stuck or db.interrupted_waiting or db.outage is not None:  # the database was slow
            return unavailable_response(self.settings.database_retry_after_seconds, db.outage)
        return too_complex_response(self.settings.execution_timeout_seconds)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticates a connection from its ``connection_init`` payload; a refusal makes
        strawberry close it with 4403 Forbidden, before any ``connection_ack``. A token past
        its ``exp`` is refused here even within the verifier's leeway: acknowledged, the
        connection would only be closed 4401 a moment later."""
        try:
            token = connection_token(context.connection_params or {})
            # The roof built this context over its own AppState (get_context below).
            principal = await authenticate(cast(AppState, context.state), token)
            if principal.expires_at <= time.time():  # verification allows clock-skew leeway
                raise Unauthenticated("the token has expired; get a new one and reconnect")
            await revocation.ensure_not_revoked(context.state.database, principal)
            context.principal = principal
        except Unauthenticated as exc:
            logger.info("websocket refused: %s (request %s)", exc.message, context.request_id)
            raise ConnectionRejectionError({"message": exc.message}) from exc
        return UnsetType()  # an ack without a payload

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        if isinstance(request, WebSocket):
            state = request.app.state.cardcrm
            return ConnectionContext(
                state=state,
                request_id=current_request_id(),
                client_addr=_client_addr(request),
                # A connection lives longer than a sign-in may: a revoked token (a reused
                # refresh token's family, a revoked client) gets no further event.
                before_event=partial(revocation.ensure_not_revoked, state.database),
            )
        principal: Principal = request.state.principal
        return Context(
            state=request.app.state.cardcrm,
            principal=principal,
            db=request.state.db,
            request_id=current_request_id(),
            client_addr=_client_addr(request),
        )
