"""The OAuth 2.0 authorization server over HTTP: client credentials (RFC 6749 §4.4),
revocation (RFC 7009), introspection (RFC 7662) and metadata (RFC 8414).

Every test makes clients of its own through the service layer (``tests.support``), so
revoking one never touches another test's client.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jws import extract_compact
from sqlalchemy import text

from auth.clients import Credentials
from core.identity import PrincipalKind, Role, Scope
from core.settings import Environment, Settings
from tests.conftest import Server, staff_token
from tests.security.conftest import running_app, variant
from tests.support import World, add_oauth_client, client_credentials_token

MERCHANT_SCOPES = "offers:read offers:redeem"
TYPENAME = "{ __typename }"
CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}


@pytest.fixture
async def merchant(server: Server) -> Credentials:
    return await add_oauth_client(
        server.state, scopes=MERCHANT_SCOPES, merchant=f"商户 {uuid.uuid4().hex[:8]}"
    )


@pytest.fixture
async def other_merchant(server: Server) -> Credentials:
    return await add_oauth_client(
        server.state, scopes=MERCHANT_SCOPES, merchant=f"Other {uuid.uuid4().hex[:8]}"
    )


@pytest.fixture
async def feed(server: Server) -> Credentials:
    return await add_oauth_client(server.state, scopes="transactions:write", name="feed")


def _basic(credentials: Credentials, secret: str | None = None) -> tuple[str, str]:
    return credentials.client.client_id, credentials.client_secret if secret is None else secret


async def _token(
    server: Server,
    form: dict[str, str],
    *,
    auth: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await server.client.post("/oauth/token", data=form, auth=auth, headers=headers)


def _granted(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body: dict[str, Any] = response.json()
    return body


def _oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    return body


async def _introspect(
    server: Server, credentials: Credentials, token: str, **extra: str
) -> dict[str, Any]:
    response = await server.client.post(
        "/oauth/introspect", data={"token": token, **extra}, auth=_basic(credentials)
    )
    return _granted(response)


async def _revoke(server: Server, credentials: Credentials, token: str) -> httpx.Response:
    return await server.client.post(
        "/oauth/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        auth=_basic(credentials),
    )


async def _graphql_status(server: Server, token: str) -> tuple[int, Any]:
    response = await server.post(TYPENAME, token=token)
    return response.status_code, response.json()


def _unauthenticated(status_and_body: tuple[int, Any]) -> str:
    status, body = status_and_body
    assert status == 401, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    message: str = error["message"]
    return message


# --- the token endpoint -----------------------------------------------------------------------


async def test_a_merchant_client_gets_a_bearer_token_with_basic_authentication(
    server: Server, merchant: Credentials
) -> None:
    body = _granted(await _token(server, CLIENT_CREDENTIALS, auth=_basic(merchant)))

    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == server.state.settings.client_token_ttl_seconds
    assert body["scope"] == MERCHANT_SCOPES
    assert "refresh_token" not in body
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}


async def test_a_merchant_client_gets_a_token_with_its_credentials_in_the_form(
    server: Server, merchant: Credentials
) -> None:
    form = {
        **CLIENT_CREDENTIALS,
        "client_id": merchant.client.client_id,
        "client_secret": merchant.client_secret,
    }

    body = _granted(await _token(server, form))

    assert body["scope"] == MERCHANT_SCOPES
    assert "refresh_token" not in body


async def test_the_token_is_an_at_jwt_for_the_merchant_that_graphql_accepts(
    server: Server, merchant: Credentials
) -> None:
    token = await client_credentials_token(server.client, merchant)

    header = extract_compact(token.encode()).headers()
    principal = server.state.tokens.verify(token)
    accepted = await server.graphql(TYPENAME, token=token)

    assert header["typ"].lower() == "at+jwt"
    assert principal.kind is PrincipalKind.MERCHANT
    assert principal.role is Role.MERCHANT
    assert principal.merchant_id == merchant.client.merchant_id
    assert principal.merchant_id is not None
    assert principal.subject == principal.client_id == merchant.client.client_id
    assert principal.scopes == {Scope.OFFERS_READ, Scope.OFFERS_REDEEM}
    assert principal.is_oauth_client
    assert accepted == {"data": {"__typename": "Query"}}


async def test_a_service_account_token_has_the_service_role_and_no_merchant(
    server: Server, feed: Credentials
) -> None:
    token = await client_credentials_token(server.client, feed)

    principal = server.state.tokens.verify(token)

    assert principal.kind is PrincipalKind.SERVICE
    assert principal.role is Role.SERVICE
    assert principal.merchant_id is None
    assert principal.scopes == {Scope.TRANSACTIONS_WRITE}


async def test_a_requested_scope_narrows_the_token_to_it(
    server: Server, merchant: Credentials
) -> None:
    form = {**CLIENT_CREDENTIALS, "scope": "offers:read"}

    body = _granted(await _token(server, form, auth=_basic(merchant)))

    assert body["scope"] == "offers:read"
    assert server.state.tokens.verify(body["access_token"]).scopes == {Scope.OFFERS_READ}


@pytest.mark.parametrize(
    "scope",
    [
        "admin",
        "offers:read customers:read",
        "transactions:write",
        "offers:read not-a-scope",
    ],
)
async def test_a_scope_beyond_the_clients_allowed_ones_is_invalid_scope(
    server: Server, merchant: Credentials, scope: str
) -> None:
    form = {**CLIENT_CREDENTIALS, "scope": scope}

    _oauth_error(await _token(server, form, auth=_basic(merchant)), 400, "invalid_scope")


async def test_a_client_created_with_fewer_scopes_cannot_request_more(server: Server) -> None:
    reader = await add_oauth_client(
        server.state, scopes="offers:read", merchant=f"Reader {uuid.uuid4().hex[:8]}"
    )

    everything = _granted(await _token(server, CLIENT_CREDENTIALS, auth=_basic(reader)))
    redeem = await _token(
        server, {**CLIENT_CREDENTIALS, "scope": "offers:redeem"}, auth=_basic(reader)
    )

    assert everything["scope"] == "offers:read"
    _oauth_error(redeem, 400, "invalid_scope")


@pytest.mark.parametrize(
    "grant_type",
    [
        "password",
        "authorization_code",
        "refresh_token",
        "implicit",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ],
)
async def test_other_grant_types_are_unsupported(
    server: Server, merchant: Credentials, grant_type: str
) -> None:
    form = {"grant_type": grant_type, "username": "demo-admin", "password": "x", "code": "x"}

    _oauth_error(await _token(server, form, auth=_basic(merchant)), 400, "unsupported_grant_type")


async def test_a_wrong_secret_and_an_unknown_client_fail_alike_with_invalid_client(
    server: Server, merchant: Credentials
) -> None:
    wrong = await _token(server, CLIENT_CREDENTIALS, auth=_basic(merchant, "not-the-secret"))
    unknown = await _token(
        server, CLIENT_CREDENTIALS, auth=(f"merchant-{uuid.uuid4().hex[:16]}", "whatever")
    )

    for response in (wrong, unknown):
        _oauth_error(response, 401, "invalid_client")
        assert response.headers["www-authenticate"].startswith("Basic ")
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]


async def test_a_wrong_secret_in_the_form_fails_like_an_unknown_client_in_the_form(
    server: Server, merchant: Credentials
) -> None:
    def form(client_id: str) -> dict[str, str]:
        return {**CLIENT_CREDENTIALS, "client_id": client_id, "client_secret": "not-the-secret"}

    wrong = await _token(server, form(merchant.client.client_id))
    unknown = await _token(server, form(f"merchant-{uuid.uuid4().hex[:16]}"))

    assert _oauth_error(wrong, 401, "invalid_client") == _oauth_error(
        unknown, 401, "invalid_client"
    )


async def _failure_seconds(server: Server, auth: tuple[str, str]) -> float:
    started = time.perf_counter()
    _oauth_error(await _token(server, CLIENT_CREDENTIALS, auth=auth), 401, "invalid_client")
    return time.perf_counter() - started


async def test_an_unknown_client_costs_an_argon2_verification_like_a_wrong_secret(
    server: Server, merchant: Credentials
) -> None:
    wrong, unknown = [], []
    for _ in range(3):
        wrong.append(await _failure_seconds(server, _basic(merchant, "not-the-secret")))
        unknown.append(await _failure_seconds(server, (f"nobody-{uuid.uuid4().hex}", "x")))

    # argon2 dominates both; a shortcut for unknown clients would make it ~10x faster.
    assert statistics.median(unknown) > 0.5 * statistics.median(wrong)


async def test_a_revoked_client_gets_no_token_and_fails_like_a_wrong_secret(
    server: Server, merchant: Credentials
) -> None:
    await _revoke_client(server, merchant)

    revoked = await _token(server, CLIENT_CREDENTIALS, auth=_basic(merchant))
    wrong = await _token(server, CLIENT_CREDENTIALS, auth=_basic(merchant, "not-the-secret"))

    assert _oauth_error(revoked, 401, "invalid_client") == wrong.json()


@pytest.mark.parametrize(
    ("form", "auth"),
    [
        pytest.param({}, True, id="no grant_type"),
        pytest.param({"grant_type": "client_credentials", "scope": "x"}, "twice", id="repeated"),
        pytest.param({"grant_type": "client_credentials", "client_secret": "x"}, True, id="both"),
    ],
)
async def test_malformed_token_requests_are_invalid_request(
    server: Server, merchant: Credentials, form: dict[str, str], auth: object
) -> None:
    if auth == "twice":
        body = "grant_type=client_credentials&scope=offers:read&scope=offers:read"
        response = await server.client.post(
            "/oauth/token",
            content=body,
            auth=_basic(merchant),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    else:
        response = await _token(server, form, auth=_basic(merchant))

    _oauth_error(response, 400, "invalid_request")


async def test_a_json_body_is_invalid_request(server: Server, merchant: Credentials) -> None:
    response = await server.client.post(
        "/oauth/token", json=CLIENT_CREDENTIALS, auth=_basic(merchant)
    )

    _oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
async def test_a_get_is_invalid_request_and_says_to_post(server: Server, path: str) -> None:
    response = await server.client.get(path, params=CLIENT_CREDENTIALS)

    _oauth_error(response, 405, "invalid_request")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "content",
    [
        b"grant_type=client_credentials&scope=" + b"x" * 20_000,
        b"grant_type=client_credentials&scope=\xff\xfe",
        b"&".join(b"p%d=1" % n for n in range(50)),
    ],
    ids=["too large", "not utf-8", "too many fields"],
)
async def test_an_unreadable_form_is_invalid_request(
    server: Server, merchant: Credentials, content: bytes
) -> None:
    response = await server.client.post(
        "/oauth/token",
        content=content,
        auth=_basic(merchant),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    _oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic", "Basic !!!", "Basic //79", "Bearer abc", "Basic " + "QQ==" * 10],
)
async def test_missing_or_malformed_client_credentials_are_invalid_client(
    server: Server, authorization: str | None
) -> None:
    headers = {"authorization": authorization} if authorization else {}

    response = await _token(server, CLIENT_CREDENTIALS, headers=headers)

    _oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize(
    "client_id", ["x" * 65, "nul\x00byte", "'; DROP TABLE oauth_clients; --", "客户"]
)
async def test_odd_client_ids_are_just_unknown_clients(server: Server, client_id: str) -> None:
    form = {**CLIENT_CREDENTIALS, "client_id": client_id, "client_secret": "x"}

    _oauth_error(await _token(server, form), 401, "invalid_client")


async def test_the_secret_is_stored_only_as_an_argon2id_hash(
    server: Server, merchant: Credentials
) -> None:
    async with server.state.database.session() as session:
        row = (
            await session.execute(
                text("SELECT * FROM oauth_clients WHERE client_id = :id"),
                {"id": merchant.client.client_id},
            )
        ).one()

    stored = " ".join(str(value) for value in row)
    assert merchant.client_secret not in stored
    assert row.client_secret_hash.startswith("$argon2id$")
    assert len(merchant.client_secret) >= 43  # 256 bits, urlsafe base64


# --- metadata (RFC 8414) ----------------------------------------------------------------------


async def test_the_metadata_names_the_server_that_answered_in_development_only(
    server: Server, settings: Settings
) -> None:
    response = await server.client.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    document = response.json()
    issuer = server.base_url  # not the configured https://cardcrm.local, unreachable here
    assert issuer != server.state.settings.token_issuer
    assert document == {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "scopes_supported": [
            "events:subscribe",
            "offers:read",
            "offers:redeem",
            "transactions:write",
        ],
        "response_types_supported": [],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
    }
    jwks = await server.client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200

    # in production, whoever answers, the configured issuer (what clients were given)
    async with running_app(variant(settings, environment=Environment.PRODUCTION)) as production:
        response = await production.client.get("/.well-known/oauth-authorization-server")
    document = response.json()
    assert document["issuer"] == settings.token_issuer == "https://cardcrm.local"
    assert document["token_endpoint"] == "https://cardcrm.local/oauth/token"
    assert document["jwks_uri"] == "https://cardcrm.local/.well-known/jwks.json"


# --- introspection (RFC 7662) -----------------------------------------------------------------


async def test_a_client_introspects_its_own_live_token_as_active_with_its_claims(
    server: Server, merchant: Credentials
) -> None:
    token = await client_credentials_token(server.client, merchant, scope="offers:read")
    principal = server.state.tokens.verify(token)

    body = await _introspect(server, merchant, token, token_type_hint="access_token")

    settings = server.state.settings
    assert body == {
        "active": True,
        "scope": "offers:read",
        "client_id": merchant.client.client_id,
        "token_type": "Bearer",
        "exp": principal.expires_at,
        "iat": body["iat"],
        "sub": merchant.client.client_id,
        "aud": settings.token_audience,
        "iss": settings.token_issuer,
        "jti": principal.token_id,
    }
    assert principal.expires_at - body["iat"] == settings.client_token_ttl_seconds


def _expired_token(server: Server, credentials: Credentials, seconds_ago: int = 600) -> str:
    tokens = server.state.tokens
    now = int(time.time())
    claims = {
        "iss": tokens.issuer,
        "aud": tokens.audience,
        "sub": credentials.client.client_id,
        "client_id": credentials.client.client_id,
        "iat": now - 3600,
        "exp": now - seconds_ago,
        "jti": uuid.uuid4().hex,
        "roles": ["merchant"],
        "scope": MERCHANT_SCOPES,
    }
    header = {"alg": "RS256", "typ": "at+jwt", "kid": tokens.signing_key.kid}
    return jwt.encode(header, claims, tokens.signing_key)


async def test_expired_foreign_staff_and_garbage_tokens_introspect_as_inactive(
    server: Server, world: World, merchant: Credentials, other_merchant: Credentials
) -> None:
    foreign = await client_credentials_token(server.client, other_merchant)
    staff = staff_token(server, world, "demo-admin")

    # Verification allows 30 s of clock skew; introspection says inactive from ``exp`` on.
    just_expired = _expired_token(server, merchant, seconds_ago=5)
    expired = _expired_token(server, merchant)

    for token in (expired, just_expired, foreign, staff, "not-a-token"):
        assert await _introspect(server, merchant, token) == {"active": False}
    assert (await _introspect(server, other_merchant, foreign))["active"] is True


async def test_introspection_needs_client_authentication(
    server: Server, merchant: Credentials
) -> None:
    token = await client_credentials_token(server.client, merchant)

    anonymous = await server.client.post("/oauth/introspect", data={"token": token})
    wrong = await server.client.post(
        "/oauth/introspect", data={"token": token}, auth=_basic(merchant, "wrong")
    )

    _oauth_error(anonymous, 401, "invalid_client")
    _oauth_error(wrong, 401, "invalid_client")


async def test_introspection_without_a_token_is_invalid_request(
    server: Server, merchant: Credentials
) -> None:
    response = await server.client.post("/oauth/introspect", data={}, auth=_basic(merchant))

    _oauth_error(response, 400, "invalid_request")


# --- revocation (RFC 7009) --------------------------------------------------------------------


async def test_a_revoked_token_fails_at_once_on_graphql_and_introspects_inactive(
    server: Server, merchant: Credentials
) -> None:
    token = await client_credentials_token(server.client, merchant)
    sibling = await client_credentials_token(server.client, merchant)
    assert (await _graphql_status(server, token))[0] == 200

    response = await _revoke(server, merchant, token)

    assert _granted(response) == {}
    assert "revoked" in _unauthenticated(await _graphql_status(server, token))
    assert await _introspect(server, merchant, token) == {"active": False}
    assert (await _graphql_status(server, sibling))[0] == 200


async def test_revoking_again_or_revoking_garbage_answers_200(
    server: Server, merchant: Credentials
) -> None:
    token = await client_credentials_token(server.client, merchant)

    first = await _revoke(server, merchant, token)
    again = await _revoke(server, merchant, token)
    garbage = await _revoke(server, merchant, "not-a-token")
    expired = await _revoke(server, merchant, _expired_token(server, merchant))

    assert [r.status_code for r in (first, again, garbage, expired)] == [200, 200, 200, 200]


async def test_a_client_cannot_revoke_another_clients_token(
    server: Server, merchant: Credentials, other_merchant: Credentials
) -> None:
    foreign = await client_credentials_token(server.client, other_merchant)

    response = await _revoke(server, merchant, foreign)

    _oauth_error(response, 400, "invalid_grant")  # RFC 7009 §2.1: the request is refused
    assert (await _graphql_status(server, foreign))[0] == 200
    assert (await _introspect(server, other_merchant, foreign))["active"] is True


async def test_a_client_cannot_revoke_a_staff_token(
    server: Server, world: World, merchant: Credentials
) -> None:
    staff = staff_token(server, world, "demo-admin")

    _oauth_error(await _revoke(server, merchant, staff), 400, "invalid_grant")
    assert (await _graphql_status(server, staff))[0] == 200


async def test_revocation_needs_client_authentication(
    server: Server, merchant: Credentials
) -> None:
    token = await client_credentials_token(server.client, merchant)

    response = await server.client.post("/oauth/revoke", data={"token": token})

    _oauth_error(response, 401, "invalid_client")
    assert (await _graphql_status(server, token))[0] == 200


async def _revoke_client(server: Server, credentials: Credentials) -> None:
    from auth import clients

    async with server.state.database.session() as session:
        await clients.revoke_client(
            session, actor=clients.Actor("test", "oauth"), client_id=credentials.client.client_id
        )


async def test_revoking_the_client_stops_all_its_live_tokens_at_once(
    server: Server, merchant: Credentials, other_merchant: Credentials
) -> None:
    tokens = [await client_credentials_token(server.client, merchant) for _ in range(2)]
    bystander = await client_credentials_token(server.client, other_merchant)

    await _revoke_client(server, merchant)

    for token in tokens:
        _unauthenticated(await _graphql_status(server, token))
    assert (await _graphql_status(server, bystander))[0] == 200


async def test_a_revoked_token_is_refused_at_websocket_connection_init(
    server: Server, merchant: Credentials
) -> None:
    from tests.api.conftest import websocket

    token = await client_credentials_token(server.client, merchant)
    await _revoke(server, merchant, token)

    async with websocket(server.base_url) as socket:
        await socket.send({"type": "connection_init", "payload": {"token": token}})
        assert await socket.close_status() == (4403, "Forbidden")


NASTY = ['"', "\\", "\x00", "é\u202e", "a" * 5000, "eyJhbGciOiJub25lIn0.e30.", "a.b.c", " "]


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
@pytest.mark.parametrize("value", NASTY, ids=range(len(NASTY)))
async def test_nasty_parameter_values_get_an_oauth_error_never_a_server_error(
    server: Server, merchant: Credentials, path: str, value: str
) -> None:
    form = {"grant_type": value, "scope": value, "token": value, "token_type_hint": value}

    response = await server.client.post(path, data=form, auth=_basic(merchant))

    assert response.status_code < 500, response.text
    assert response.headers["cache-control"] == "no-store"
    if response.status_code != 200:
        assert response.json()["error"] in {"invalid_request", "unsupported_grant_type"}
