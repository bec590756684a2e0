"""The GraphQL endpoint: strawberry's ASGI view with bearer authentication and a session.

Every HTTP request needs a valid access token before anything is parsed; without one the
answer is HTTP 401 with an UNAUTHENTICATED error body. Each request gets one database session,
closed when the response is done, and responses are encoded with orjson.
"""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.context import Context, RequestDatabase
from api.errors import ErrorCode, Unauthenticated
from api.middleware import current_request_id
from api.responses import error_response
from api.state import AppState
from auth.principal import Principal


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send an access token: `Authorization: Bearer <token>`")
    return token.strip()


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
        async with state.database.session() as session:
            request.state.principal = principal
            request.state.db = RequestDatabase(session)
            try:
                return await self.run(request)
            except HTTPException as exc:
                return error_response(exc.status_code, ErrorCode.BAD_USER_INPUT, exc.reason)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        principal: Principal = request.state.principal
        return Context(
            state=request.app.state.cardcrm,
            principal=principal,
            db=request.state.db,
            request_id=current_request_id(),
            client_addr=_client_addr(request),
        )
