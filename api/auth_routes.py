"""HTTP endpoints of staff sign-in and the public signing keys."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.errors import ErrorCode, Unauthenticated
from api.responses import OrjsonResponse, error_response
from api.state import AppState
from auth import login as login_service

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def _json_fields(request: Request, *names: str) -> dict[str, str] | Response:
    try:
        body: Any = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or not all(
        isinstance(body.get(n), str) and body[n] for n in names
    ):
        return error_response(
            400, ErrorCode.BAD_USER_INPUT, f"send a JSON object with {', '.join(names)}"
        )
    return {name: body[name] for name in names}


async def login(request: Request) -> Response:
    fields = await _json_fields(request, "username", "password")
    if isinstance(fields, Response):
        return fields
    state: AppState = request.app.state.cardcrm
    async with state.database.session() as session:
        try:
            pair = await login_service.login(
                session, state.tokens, state.settings, fields["username"], fields["password"]
            )
        except Unauthenticated as exc:
            return error_response(401, ErrorCode.UNAUTHENTICATED, exc.message)
    return OrjsonResponse(pair.as_json(), headers=NO_STORE)


async def refresh(request: Request) -> Response:
    fields = await _json_fields(request, "refresh_token")
    if isinstance(fields, Response):
        return fields
    state: AppState = request.app.state.cardcrm
    async with state.database.session() as session:
        try:
            pair = await login_service.refresh(
                session, state.tokens, state.settings, fields["refresh_token"]
            )
        except Unauthenticated as exc:
            return error_response(401, ErrorCode.UNAUTHENTICATED, exc.message)
    return OrjsonResponse(pair.as_json(), headers=NO_STORE)


async def jwks(request: Request) -> Response:
    state: AppState = request.app.state.cardcrm
    return OrjsonResponse(state.tokens.jwks(), headers={"Cache-Control": "public, max-age=300"})


routes = [
    Route("/auth/login", login, methods=["POST"]),
    Route("/auth/refresh", refresh, methods=["POST"]),
    Route("/.well-known/jwks.json", jwks, methods=["GET"]),
]
