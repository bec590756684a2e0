"""HTTP endpoints of staff sign-in and the public signing keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.rate_limit import LOGIN, per_client_address
from api.responses import OrjsonResponse, error_response
from api.state import AppState
from auth import login as login_service
from core.errors import BadUserInput, ErrorCode, PasswordChangeRequired, Unauthenticated

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


IssuePair = Callable[[AsyncSession, AppState, dict[str, str]], Awaitable[login_service.TokenPair]]


async def _token_endpoint(request: Request, issue: IssuePair, *names: str) -> Response:
    """Reads the JSON fields, issues a token pair, answers it uncacheable (or 401)."""
    fields = await _json_fields(request, *names)
    if isinstance(fields, Response):
        return fields
    state: AppState = request.app.state.cardcrm
    async with state.database.session() as session:
        try:
            pair = await issue(session, state, fields)
        except Unauthenticated as exc:
            return error_response(401, ErrorCode.UNAUTHENTICATED, exc.message)
        except PasswordChangeRequired as exc:
            return error_response(403, ErrorCode.PASSWORD_CHANGE_REQUIRED, exc.message)
        except BadUserInput as exc:
            return error_response(400, ErrorCode.BAD_USER_INPUT, exc.message)
    return OrjsonResponse(pair.as_json(), headers=NO_STORE)


@per_client_address(LOGIN)
async def login(request: Request) -> Response:
    async def issue(
        session: AsyncSession, state: AppState, fields: dict[str, str]
    ) -> login_service.TokenPair:
        return await login_service.login(
            session, state.tokens, state.settings, fields["username"], fields["password"]
        )

    return await _token_endpoint(request, issue, "username", "password")


@per_client_address(LOGIN)
async def change_password(request: Request) -> Response:
    """A new password for a staff user who knows the current one (a one-time password
    included); answers a fresh token pair like a sign-in."""

    async def issue(
        session: AsyncSession, state: AppState, fields: dict[str, str]
    ) -> login_service.TokenPair:
        return await login_service.change_password(
            session,
            state.tokens,
            state.settings,
            username=fields["username"],
            password=fields["password"],
            new_password=fields["new_password"],
        )

    return await _token_endpoint(request, issue, "username", "password", "new_password")


async def refresh(request: Request) -> Response:
    async def issue(
        session: AsyncSession, state: AppState, fields: dict[str, str]
    ) -> login_service.TokenPair:
        return await login_service.refresh(
            session, state.tokens, state.settings, fields["refresh_token"]
        )

    return await _token_endpoint(request, issue, "refresh_token")


async def jwks(request: Request) -> Response:
    state: AppState = request.app.state.cardcrm
    return OrjsonResponse(state.tokens.jwks(), headers={"Cache-Control": "public, max-age=300"})


routes = [
    Route("/auth/login", login, methods=["POST"]),
    Route("/auth/password", change_password, methods=["POST"]),
    Route("/auth/refresh", refresh, methods=["POST"]),
    Route("/.well-known/jwks.json", jwks, methods=["GET"]),
]
