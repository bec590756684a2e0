"""The GraphQL endpoint: strawberry's ASGI view with bearer authentication and a session.

Every HTTP request needs a valid access token before anything is parsed; without one the
answer is HTTP 401 with an UNAUTHENTICATED error body. Each request gets one database session,
closed when the response is done, and responses are encoded with orjson.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api import idempotency
from api.context import Context, RequestDatabase
from api.errors import INTERNAL_ERROR_MESSAGE, ErrorCode, Unauthenticated
from api.middleware import current_request_id
from api.responses import error_response
from api.state import AppState
from auth.principal import Principal

logger = logging.getLogger("cardcrm.http")


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send an access token: `Authorization: Bearer <token>`")
    return token.strip()


async def _body_is_an_object(request: Request) -> bool:
    """False for a POSTed JSON body that parses but is not an object (batches are not
    accepted). Malformed JSON is left to strawberry, which answers it with a 400."""
    if request.method != "POST" or "json" not in request.headers.get("content-type", ""):
        return True
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return True
    return isinstance(payload, dict)


def _client_addr(request: Request | WebSocket) -> str | None:
    return request.client.host if request.client else None


class CardcrmGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: Any, **kwargs: Any) -> None:
        super().__init__(schema, graphql_ide=None, **kwargs)

    def encode_json(self, data: object) -> bytes:  # type: ignore[override]
        return orjson.dumps(data)

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
        if not await _body_is_an_object(request):
            return error_response(
                400, ErrorCode.BAD_USER_INPUT, "the request body must be a JSON object"
            )
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
        if not isinstance(payload, dict) or not idempotency.is_mutation(
            str(payload.get("query") or ""), payload.get("operationName")
        ):
            return None
        return idempotency.Claim(principal.audit_actor, key, idempotency.request_hash(payload))

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        principal: Principal = request.state.principal
        return Context(
            state=request.app.state.cardcrm,
            principal=principal,
            db=request.state.db,
            request_id=current_request_id(),
            client_addr=_client_addr(request),
        )
