"""The OAuth 2.0 authorization server of partner merchants and service accounts (authlib).

Client credentials only (RFC 6749 §4.4) for confidential clients authenticating with
``client_secret_basic`` or ``client_secret_post``; token revocation (RFC 7009) and
introspection (RFC 7662); the metadata document describing them (RFC 8414) is
``auth.oauth_metadata``. The access token is our RFC 9068 JWT (``auth.tokens``), so nothing is
stored when one is issued; revocation is a list (``auth.revocation``).

authlib's server classes are synchronous, while the database and argon2 are async here. Each
request therefore runs authlib in a worker thread (``asyncio.to_thread``), and the callbacks
that need the database or argon2 hand their coroutine back to the event loop and wait for it
(``asyncio.run_coroutine_threadsafe``): authlib may block, the loop never does, and the work
is done by the same async code as everywhere else. authlib owns the protocol: which grant,
client authentication, error responses; this module supplies the storage and the adapter.

Failed client authentication looks and costs the same whatever the cause: an unknown client
id, a wrong secret and a revoked client all verify a secret against an argon2 hash (a dummy
one when there is no client) and answer ``invalid_client``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from joserfc.jws import extract_compact
from sqlalchemy.ext.asyncio import AsyncSession

from auth import clients, revocation
from auth.passwords import verify_password
from auth.scopes import format_scopes, parse_scopes
from auth.tokens import TokenService
from core.database import Database
from core.errors import Unauthenticated
from core.identity import Principal, Scope
from models.merchants.merchant import OAuthClient

logger = logging.getLogger("cardcrm.oauth")
T = TypeVar("T")

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
GRANT_TYPES = ["client_credentials"]
TOKEN_PATH = "/oauth/token"
REVOCATION_PATH = "/oauth/revoke"
INTROSPECTION_PATH = "/oauth/introspect"
_MAX_CLIENT_ID = 64


class Endpoint(StrEnum):
    TOKEN = "token"
    REVOCATION = "revocation"
    INTROSPECTION = "introspection"


@dataclass(frozen=True)
class HttpRequest:
    """What the endpoints read of an HTTP request: its form-encoded body already parsed."""

    method: str
    url: str
    authorization: str | None
    params: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]]


def error_response(error: OAuth2Error) -> HttpResponse:
    status, body, headers = error()
    return HttpResponse(status, dict(body), list(headers))


async def respond(
    endpoint: Endpoint, request: HttpRequest, *, database: Database, tokens: TokenService, ttl: int
) -> HttpResponse:
    """Answers one request to the token, revocation or introspection endpoint."""
    try:
        _check_request(endpoint, request)
    except OAuth2Error as error:
        return error_response(error)
    async with database.session() as session:
        store = _Store(session, asyncio.get_running_loop())
        server = _Server(store, tokens, ttl)
        return await asyncio.to_thread(server.respond, endpoint, request)


def _check_request(endpoint: Endpoint, request: HttpRequest) -> None:
    """What RFC 6749 asks of every request and authlib leaves to the framework."""
    if not is_secure_transport(request.url):
        raise InvalidRequestError("OAuth requests must use https")
    names = [name for name, _ in request.params]
    if len(set(names)) != len(names):
        raise InvalidRequestError("each parameter may appear only once (RFC 6749 section 3.2)")
    basic = _basic_credentials(request.authorization)
    if basic and "client_secret" in names:
        raise InvalidRequestError("use one client authentication method, not two")
    if endpoint is Endpoint.TOKEN and "grant_type" not in names:
        raise InvalidRequestError("grant_type is required")


def _basic_credentials(authorization: str | None) -> bool:
    """Whether Basic credentials are sent; undecodable ones fail authentication here, since
    authlib's decoder would raise on bytes that are not UTF-8."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClientError(
            status_code=401, description="the Basic credentials are malformed"
        ) from exc
    return True


class _Store:
    """The request's database and argon2 work, run on the event loop for authlib's thread."""

    def __init__(self, session: AsyncSession, loop: asyncio.AbstractEventLoop) -> None:
        self._session = session
        self._loop = loop

    def _wait(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def client(self, client_id: str) -> _Client:
        plausible = 0 < len(client_id) <= _MAX_CLIENT_ID and client_id.isprintable()
        row = self._wait(clients.find_client(self._session, client_id)) if plausible else None
        return _Client(client_id, row, self)

    def secret_matches(self, stored_hash: str | None, secret: str) -> bool:
        return self._wait(verify_password(stored_hash, secret))

    def is_revoked(self, principal: Principal) -> bool:
        return self._wait(
            revocation.is_revoked(
                self._session, token_id=principal.token_id, client_id=principal.client_id
            )
        )

    def revoke(self, token: _Token) -> None:
        self._wait(
            revocation.revoke_token(
                self._session,
                token_id=token.principal.token_id,
                client_id=token.principal.client_id,
                expires_at=token.expires_at,
            )
        )


class _Client(ClientMixin):  # type: ignore[misc]
    """The client a request names; ``row`` is None for an unknown client id."""

    def __init__(self, client_id: str, row: OAuthClient | None, store: _Store) -> None:
        self.client_id = client_id
        self.row = row
        self._store = store

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        row = self.row
        matches = self._store.secret_matches(row.client_secret_hash if row else None, client_secret)
        return matches and row is not None and row.revoked_at is None

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES

    def granted_scopes(self, requested: str | None) -> frozenset[Scope]:
        """The requested scopes, all of which the client must hold; none requested: all."""
        assert self.row is not None, "only an authenticated client is granted scopes"
        allowed = clients.allowed_scopes(self.row)
        if not requested:
            return allowed
        try:
            wanted = parse_scopes(requested)
        except ValueError as exc:
            raise InvalidScopeError() from exc
        if not wanted <= allowed:
            raise InvalidScopeError(f"this client may request only: {format_scopes(allowed)}")
        return wanted

    def get_allowed_scope(self, scope: str | None) -> str:
        return format_scopes(self.granted_scopes(scope))


class _Token(TokenMixin):  # type: ignore[misc]
    """A valid access token of ours, as the revocation and introspection endpoints see it."""

    def __init__(self, principal: Principal, claims: dict[str, Any], store: _Store) -> None:
        self.principal = principal
        self.claims = claims
        self._store = store

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.principal.expires_at, tz=UTC)

    def check_client(self, client: _Client) -> bool:
        return self.principal.is_oauth_client and self.principal.client_id == client.client_id

    def get_scope(self) -> str:
        return format_scopes(self.principal.scopes)

    def is_expired(self) -> bool:
        """Strictly past ``exp``: verification's clock leeway does not make it active."""
        return self.principal.expires_at <= time.time()

    def is_revoked(self) -> bool:
        return self._store.is_revoked(self.principal)


class _ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_requested_scope(self) -> None:
        self.request.client.granted_scopes(self.request.payload.scope)


class _TokenParams:
    """Both token endpoints: a ``token`` is required; the type hint is ignored (RFC 7009
    §2.1 and RFC 7662 §2.1 allow it), as a client only ever holds access tokens."""

    CLIENT_AUTH_METHODS = AUTH_METHODS
    server: _Server

    def check_params(self, request: OAuth2Request, client: _Client) -> None:
        if not request.form.get("token"):
            raise InvalidRequestError("token is required")

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
        return self.server.read_token(token_string)


class _Revocation(_TokenParams, RevocationEndpoint):  # type: ignore[misc]
    def revoke_token(self, token: _Token, request: OAuth2Request) -> None:
        self.server.store.revoke(token)


class _Introspection(_TokenParams, IntrospectionEndpoint):  # type: ignore[misc]
    def check_permission(self, token: _Token, client: _Client, request: OAuth2Request) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: _Token) -> dict[str, Any]:
        principal, claims = token.principal, token.claims
        return {
            "active": True,
            "scope": token.get_scope(),
            "client_id": principal.client_id,
            "token_type": "Bearer",
            "exp": principal.expires_at,
            "iat": claims.get("iat"),
            "sub": principal.subject,
            "aud": claims.get("aud"),
            "iss": claims.get("iss"),
            "jti": principal.token_id,
        }


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, request: HttpRequest) -> None:
        headers = {"Authorization": request.authorization} if request.authorization else {}
        super().__init__(request.method, request.url, headers=headers)
        self.payload = BasicOAuth2Payload(dict(request.params))

    @property
    def form(self) -> Mapping[str, str]:
        data: Mapping[str, str] = self.payload.data
        return data

    @property
    def args(self) -> Mapping[str, str]:
        return {}  # parameters in the URI are never read (RFC 6749 §2.3.1)


class _Server(AuthorizationServer):  # type: ignore[misc]
    """authlib's server for one request; it runs in a worker thread."""

    def __init__(self, store: _Store, tokens: TokenService, ttl: int) -> None:
        super().__init__()
        self.store = store
        self._tokens = tokens
        self._ttl = min(ttl, tokens.max_lifetime)
        self.register_grant(_ClientCredentialsGrant)
        self.register_endpoint(_Revocation)
        self.register_endpoint(_Introspection)
        self.register_token_generator("default", self._generate_token)

    def respond(self, endpoint: Endpoint, request: HttpRequest) -> HttpResponse:
        if endpoint is Endpoint.TOKEN:
            response: HttpResponse = self.create_token_response(request)
        else:
            response = self.create_endpoint_response(endpoint.value, request)
        return response

    def query_client(self, client_id: str) -> _Client:
        return self.store.client(client_id)  # never None: see _Client

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Nothing to save: the access token is a self-contained signed JWT."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        logger.debug("oauth %s", name)

    def create_oauth2_request(self, request: HttpRequest | OAuth2Request) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else _Request(request)

    def create_json_request(self, request: HttpRequest) -> Any:
        raise NotImplementedError("no endpoint of this server reads JSON")

    def handle_response(
        self, status: int, body: Mapping[str, Any], headers: list[tuple[str, str]]
    ) -> HttpResponse:
        return HttpResponse(status, dict(body), list(headers))

    def read_token(self, token_string: str) -> _Token | None:
        try:
            principal = self._tokens.verify(token_string)
        except Unauthenticated:
            return None  # not a valid token of ours: nothing to revoke, inactive
        claims = json.loads(extract_compact(token_string.encode()).payload)
        return _Token(principal, claims, self.store)

    def _generate_token(
        self,
        grant_type: str,
        client: _Client,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict[str, Any]:
        """Our RFC 9068 access token; never a refresh token (RFC 6749 §4.4.3)."""
        assert client.row is not None
        scopes = client.granted_scopes(scope)
        access_token = self._tokens.issue(
            subject=client.client_id,
            role=clients.role_of(client.row),
            client_id=client.client_id,
            scopes=scopes,
            merchant_id=client.row.merchant_id,
            ttl=self._ttl,
        )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self._ttl,
            "scope": format_scopes(scopes),
        }
