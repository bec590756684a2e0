"""Bearer tokens as the two transports carry them (RFC 6750): the ``Authorization`` header
of an HTTP request, the ``connection_init`` payload of a WebSocket, and the challenge a 401
answers with."""

from __future__ import annotations

from core.errors import Unauthenticated

NO_TOKEN = "send an access token: `Authorization: Bearer <token>`"


class NoCredentials(Unauthenticated):
    """The request carried no token at all (as opposed to a token that failed)."""


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NoCredentials(NO_TOKEN)
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


def challenge(error: Unauthenticated) -> str:
    """The ``WWW-Authenticate`` value of a 401: a request that sent no credentials learns
    only that a bearer token is wanted, without an error code (RFC 6750 §3.1); one whose
    token failed is told ``invalid_token``."""
    return "Bearer" if isinstance(error, NoCredentials) else 'Bearer error="invalid_token"'
