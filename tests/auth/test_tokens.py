"""Access tokens at the HTTP endpoint: only our own RS256 ``at+jwt`` with every claim passes.

Forged tokens are crafted here with joserfc (and by hand where joserfc rightly refuses to
help, e.g. ``alg: none``); a well-formed crafted token is shown to pass first, so each
refusal below is for the one flaw it introduces.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jws, jwt
from joserfc.jwk import KeySet, RSAKey

from auth.tokens import LEEWAY_SECONDS
from core.errors import Unauthenticated
from tests.conftest import Server, staff_token
from tests.support import World

VIEWER = "{ viewer { username role } }"
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json_b64(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())


def _claims(server: Server, world: World, **overrides: Any) -> dict[str, Any]:
    user = world.staff["demo-agent"]
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": server.state.tokens.issuer,
        "aud": server.state.tokens.audience,
        "sub": str(user.id),
        "client_id": "cardcrm-console",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "scope": "customers:read",
        "roles": ["agent"],
        "branch": str(user.branch_id),
        "preferred_username": "demo-agent",
    }
    claims.update(overrides)
    return claims


def _header(server: Server, **overrides: Any) -> dict[str, Any]:
    header: dict[str, Any] = {
        "alg": "RS256",
        "typ": "at+jwt",
        "kid": server.state.tokens.signing_key.kid,
    }
    header.update(overrides)
    return {name: value for name, value in header.items() if value is not None}


def _signed(header: dict[str, Any], claims: dict[str, Any], key: RSAKey) -> str:
    payload = json.dumps(claims).encode()
    return jws.serialize_compact(header, payload, key, algorithms=[header["alg"]])


def _hmac_signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{_json_b64(header)}.{_json_b64(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_json_b64(header)}.{_json_b64(claims)}."


def _assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert "data" not in body
    assert len(body["errors"]) == 1
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_given_a_well_formed_crafted_token_then_it_is_accepted(
    server: Server, world: World
) -> None:
    """The control for every forgery below: the same recipe, unaltered, passes."""
    token = _signed(_header(server), _claims(server, world), server.state.tokens.signing_key)

    body = await server.graphql(VIEWER, token=token)

    assert body == {"data": {"viewer": {"username": "demo-agent", "role": "AGENT"}}}


async def test_given_the_rfc_9068_media_type_as_typ_then_the_token_is_accepted(
    server: Server, world: World
) -> None:
    header = _header(server, typ="application/at+jwt")
    token = _signed(header, _claims(server, world), server.state.tokens.signing_key)

    body = await server.graphql(VIEWER, token=token)

    assert body["data"]["viewer"]["username"] == "demo-agent"


async def test_given_a_token_that_lives_longer_than_the_server_accepts_then_401(
    server: Server, world: World
) -> None:
    """Even a token our own key signed is refused when its lifetime exceeds the cap."""
    now = int(time.time())
    lifetime = server.state.tokens.max_lifetime + 60
    claims = _claims(server, world, iat=now, exp=now + lifetime)
    token = _signed(_header(server), claims, server.state.tokens.signing_key)

    _assert_unauthenticated(await server.post(VIEWER, token=token))


async def test_given_no_authorization_header_then_401_unauthenticated(server: Server) -> None:
    response = await server.client.post("/graphql", json={"query": VIEWER})

    _assert_unauthenticated(response)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer garbage",
        "Bearer a.b.c",
        "Bearer",
        "Basic ZGVtby1hZ2VudDpwYXNzd29yZA==",
        "garbage",
    ],
)
async def test_given_a_garbage_authorization_then_401_unauthenticated(
    server: Server, authorization: str
) -> None:
    response = await server.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": authorization}
    )

    _assert_unauthenticated(response)


async def test_given_a_staff_token_in_another_scheme_then_401_unauthenticated(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    response = await server.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Token {token}"}
    )

    _assert_unauthenticated(response)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_given_an_alg_none_token_then_401(server: Server, world: World, alg: str) -> None:
    token = _unsigned(_header(server, alg=alg), _claims(server, world))

    _assert_unauthenticated(await server.post(VIEWER, token=token))


@pytest.mark.parametrize("secret_form", ["pem", "jwk", "jwks-document", "modulus"])
async def test_given_hs256_signed_with_the_public_key_then_401(
    server: Server, world: World, secret_form: str
) -> None:
    """Algorithm confusion: the public key, in any of its published forms, as an HMAC secret."""
    public = server.state.tokens.signing_key
    published = (await server.client.get("/.well-known/jwks.json")).content
    secrets = {
        "pem": public.as_pem(private=False),
        "jwk": json.dumps(public.as_dict(private=False)).encode(),
        "jwks-document": published,
        "modulus": str(public.as_dict(private=False)["n"]).encode(),
    }
    token = _hmac_signed(_header(server, alg="HS256"), _claims(server, world), secrets[secret_form])

    _assert_unauthenticated(await server.post(VIEWER, token=token))


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256"])
async def test_given_our_own_key_with_another_rsa_algorithm_then_401(
    server: Server, world: World, alg: str
) -> None:
    ours = server.state.tokens.signing_key.as_dict(private=True)
    ours.pop("alg")  # joserfc would refuse to sign with a key marked RS256 otherwise
    token = _signed(_header(server, alg=alg), _claims(server, world), RSAKey.import_key(ours))

    _assert_unauthenticated(await server.post(VIEWER, token=token))


@pytest.mark.parametrize("kid", ["ours", "its-own", "absent"])
async def test_given_a_token_signed_by_another_rsa_key_then_401(
    server: Server, world: World, kid: str
) -> None:
    other = RSAKey.generate_key(2048, private=True)
    kids = {"ours": server.state.tokens.signing_key.kid, "its-own": other.thumbprint()}
    header = _header(server, kid=kids.get(kid))  # "absent": no kid header at all

    _assert_unauthenticated(
        await server.post(VIEWER, token=_signed(header, _claims(server, world), other))
    )


async def test_given_a_tampered_payload_then_401(server: Server, world: World) -> None:
    token = _signed(_header(server), _claims(server, world), server.state.tokens.signing_key)
    header, _, signature = token.split(".")
    forged = _json_b64(_claims(server, world, roles=["admin"], scope="admin"))

    _assert_unauthenticated(await server.post(VIEWER, token=f"{header}.{forged}.{signature}"))


@pytest.mark.parametrize(
    "claim",
    [
        pytest.param({"aud": "another-api"}, id="wrong-audience"),
        pytest.param({"aud": ["another-api"]}, id="wrong-audience-list"),
        pytest.param({"iss": "https://evil.example"}, id="wrong-issuer"),
        pytest.param(
            {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, id="expired"
        ),
        pytest.param({"exp": int(time.time()) - 120}, id="expired-beyond-leeway"),
        pytest.param({"nbf": int(time.time()) + 3600}, id="not-yet-valid"),
        pytest.param(
            {"iat": int(time.time()) + 86400, "exp": int(time.time()) + 90000},
            id="issued-in-the-future",
        ),
    ],
)
async def test_given_a_token_for_another_audience_issuer_or_time_then_401(
    server: Server, world: World, claim: dict[str, Any]
) -> None:
    token = _signed(
        _header(server), _claims(server, world, **claim), server.state.tokens.signing_key
    )

    _assert_unauthenticated(await server.post(VIEWER, token=token))


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "JOSE", "id+jwt"])
async def test_given_a_token_that_is_not_typed_as_an_access_token_then_401(
    server: Server, world: World, typ: str | None
) -> None:
    header = _header(server, typ=typ)
    assert ("typ" in header) == (typ is not None)
    token = _signed(header, _claims(server, world), server.state.tokens.signing_key)

    _assert_unauthenticated(await server.post(VIEWER, token=token))


@pytest.mark.parametrize("claim", [*REQUIRED_CLAIMS, "roles"])
async def test_given_a_token_missing_a_required_claim_then_401(
    server: Server, world: World, claim: str
) -> None:
    claims = _claims(server, world)
    del claims[claim]
    token = _signed(_header(server), claims, server.state.tokens.signing_key)

    _assert_unauthenticated(await server.post(VIEWER, token=token))


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"roles": ["superuser"]}, id="unknown-role"),
        pytest.param({"roles": ["agent", "admin"]}, id="two-roles"),
        pytest.param({"scope": "customers:read everything"}, id="unknown-scope"),
        pytest.param({"sub": "not-a-uuid"}, id="staff-subject-not-a-uuid"),
    ],
)
async def test_given_a_token_with_an_unusable_role_scope_or_subject_then_401(
    server: Server, world: World, claims: dict[str, Any]
) -> None:
    token = _signed(
        _header(server), _claims(server, world, **claims), server.state.tokens.signing_key
    )

    _assert_unauthenticated(await server.post(VIEWER, token=token))


async def test_the_jwks_endpoint_publishes_exactly_the_public_signing_key(
    server: Server, world: World
) -> None:
    response = await server.client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    document = response.json()
    assert set(document) == {"keys"}
    (key,) = document["keys"]
    assert not PRIVATE_JWK_MEMBERS & set(key), key
    public = server.state.tokens.signing_key.as_dict(private=False)
    assert key["kty"] == "RSA"
    assert (key["n"], key["e"], key["kid"]) == (public["n"], public["e"], public["kid"])
    assert key.get("alg", "RS256") == "RS256"
    assert key.get("use", "sig") == "sig"

    published = KeySet.import_key_set(document)
    decoded = jwt.decode(staff_token(server, world, "demo-agent"), published, algorithms=["RS256"])
    assert decoded.claims["preferred_username"] == "demo-agent"


async def test_issued_tokens_live_exactly_their_ttl(server: Server) -> None:
    """Guards a past bug: authlib ignored the ttl and every token lived an hour."""
    from joserfc import jwt

    from core.identity import Role

    tokens = server.state.tokens
    for ttl in (60, tokens.default_ttl):
        token = tokens.issue(subject=str(uuid.uuid4()), role=Role.CUSTOMER, client_id="t", ttl=ttl)
        claims = jwt.decode(token, tokens.signing_key).claims
        assert claims["exp"] - claims["iat"] == ttl


def test_workers_generating_the_development_key_at_once_all_load_the_same_one(
    tmp_path: Path,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from auth.tokens import load_or_create_signing_key

    path = tmp_path / "keys" / "signing-key.pem"
    with ThreadPoolExecutor(4) as pool:
        keys = list(pool.map(lambda _: load_or_create_signing_key(path), range(4)))
    assert len({key.thumbprint() for key in keys}) == 1
    assert keys[0].thumbprint() == RSAKey.import_key(path.read_bytes()).thumbprint()
    assert [p.name for p in path.parent.iterdir()] == ["signing-key.pem"]
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_token_checked_once_is_still_refused_once_it_expires(
    server: Server, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``TokenService.verify`` remembers checked tokens; the memory ends with the token."""
    tokens = server.state.tokens
    token = staff_token(server, world, "demo-agent")
    principal = tokens.verify(token)
    assert tokens.verify(token) is principal  # answered from memory

    later = principal.expires_at + LEEWAY_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: float(later))

    with pytest.raises(Unauthenticated):
        tokens.verify(token)
