"""RFC 9068 JWT access tokens: issued with authlib's generator, checked with its claims rules.

Signing is RS256 (the algorithm RFC 9068 makes mandatory) with a key pair that comes from
``CARDCRM_SIGNING_KEY_FILE`` in production and is generated once into ``var/keys`` in
development. Verification accepts only RS256 and only our own keys, so ``alg: none`` and
HS256-with-the-public-key confusion are rejected before any claim is read; then ``typ``
``at+jwt``, ``iss``, ``aud``, ``exp``, ``iat``, ``sub``, ``client_id`` and ``jti`` are all
required.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oauth2.rfc9068.claims import JWTAccessTokenClaims
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from auth.scopes import ROLE_SCOPES, format_scopes, parse_scopes
from core.errors import Unauthenticated
from core.identity import Principal, PrincipalKind, Role, Scope
from core.lru import Lru

ALGORITHM = "RS256"
ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")
LEEWAY_SECONDS = 30  # clock skew allowed on exp, nbf and iat
VERIFIED_TOKENS = 4096  # tokens remembered as checked, per process


def load_or_create_signing_key(path: Path) -> RSAKey:
    """Development: a 2048-bit RSA key generated on first run, readable by its owner only.

    Several workers may start at once: the key is written to a private temporary file and
    linked into place, so a reader never sees half a key and the first link wins.
    """
    if path.exists():
        return RSAKey.import_key(path.read_bytes())
    key = RSAKey.generate_key(2048, private=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    temporary = Path(name)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.as_pem(private=True))
    try:
        os.link(temporary, path)  # fails if another worker's key got there first
    except FileExistsError:
        return RSAKey.import_key(path.read_bytes())
    finally:
        temporary.unlink()
    return key


def _with_kid(key: RSAKey) -> RSAKey:
    data = key.as_dict(private=key.is_private)
    data.setdefault("kid", key.thumbprint())
    data["alg"] = ALGORITHM
    data["use"] = "sig"
    return RSAKey.import_key(data)


@dataclass(frozen=True)
class _Client:
    client_id: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_allowed_scope(self, scope: str) -> str:
        return scope  # already narrowed to the role's scopes by TokenService.issue


@dataclass(frozen=True)
class _Subject:
    subject: str

    def get_user_id(self) -> str:
        return self.subject


class _Generator(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(self, issuer: str, audience: str, key: RSAKey) -> None:
        super().__init__(issuer=issuer, alg=ALGORITHM)
        self._audience = audience
        self._key_set = KeySet([key])
        self._extra: dict[str, Any] = {}

    def get_jwks(self) -> KeySet:
        return self._key_set

    def get_audiences(self, client: Any, user: Any, scope: Any) -> str:
        return self._audience

    def get_extra_claims(
        self, client: Any, grant_type: Any, user: Any, scope: Any
    ) -> dict[str, Any]:
        return self._extra


class TokenService:
    """Issues and verifies access tokens for staff, customers and OAuth clients."""

    def __init__(
        self,
        key: RSAKey,
        *,
        issuer: str,
        audience: str,
        default_ttl: int,
        max_lifetime: int = 24 * 3600,
    ) -> None:
        self.max_lifetime = max_lifetime
        self.signing_key = _with_kid(key)
        self.issuer = issuer
        self.audience = audience
        self.default_ttl = default_ttl
        self._verify_keys = KeySet([self.signing_key])
        # Tokens whose signature and claims were checked: a token stays valid until it
        # expires (revocation is checked apart, per request: ``auth.revocation``), and an
        # RS256 check costs about as much as the rest of authenticating a request.
        self._verified: Lru[str, Principal] = Lru(VERIFIED_TOKENS)

    def jwks(self) -> dict[str, Any]:
        """The public keys, for ``/.well-known/jwks.json``."""
        return {"keys": [self.signing_key.as_dict(private=False)]}

    def issue(
        self,
        *,
        subject: str,
        role: Role,
        client_id: str,
        scopes: frozenset[Scope] | None = None,
        branch_id: uuid.UUID | None = None,
        username: str | None = None,
        merchant_id: uuid.UUID | None = None,
        session_id: uuid.UUID | None = None,
        ttl: int | None = None,
    ) -> str:
        granted = ROLE_SCOPES[role] if scopes is None else scopes & ROLE_SCOPES[role]
        generator = _Generator(self.issuer, self.audience, self.signing_key)
        generator._extra = {"roles": [role.value]}
        if branch_id is not None:
            generator._extra["branch"] = str(branch_id)
        if username is not None:
            generator._extra["preferred_username"] = username
        if merchant_id is not None:
            generator._extra["merchant"] = str(merchant_id)
        if session_id is not None:  # the refresh-token family (auth/revocation.py)
            generator._extra["sid"] = str(session_id)
        ttl = min(ttl or self.default_ttl, self.max_lifetime)
        # authlib's RFC 9068 generator takes ``exp`` from here, not from ``expires_in``.
        generator.expires_generator = ttl
        token = generator.generate(
            grant_type="cardcrm",
            client=_Client(client_id),
            user=_Subject(subject),
            scope=format_scopes(granted),
            expires_in=ttl,
            include_refresh_token=False,
        )
        return str(token["access_token"])

    def _claims(self, token: str) -> JWTAccessTokenClaims:
        try:
            decoded = jwt.decode(token, self._verify_keys, algorithms=[ALGORITHM])
        except (JoseError, ValueError) as exc:
            raise Unauthenticated(
                "the access token is malformed or its signature is invalid"
            ) from exc
        if str(decoded.header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
            raise Unauthenticated("the token is not an access token (typ must be at+jwt)")
        options: dict[str, dict[str, object]] = {
            name: {"essential": True} for name in ("exp", "sub", "client_id", "iat", "jti")
        }
        options["iss"] = {"essential": True, "value": self.issuer}
        options["aud"] = {"essential": True, "value": self.audience}
        claims = JWTAccessTokenClaims(decoded.claims, decoded.header, options)
        try:
            claims.validate(leeway=LEEWAY_SECONDS)
        except JoseError as exc:
            raise Unauthenticated(f"the access token was rejected: {exc.error}") from exc
        if int(claims["exp"]) - int(claims["iat"]) > self.max_lifetime:
            raise Unauthenticated("the access token lives longer than this server accepts")
        return claims

    def verify(self, token: str) -> Principal:
        """The principal a valid token speaks for; any flaw is UNAUTHENTICATED. A token
        checked before answers from the process's memory until it expires."""
        known = self._verified.get(token)
        if known is not None and time.time() <= known.expires_at + LEEWAY_SECONDS:
            return known
        principal = self._checked(token)
        self._verified.put(token, principal)
        return principal

    def _checked(self, token: str) -> Principal:
        claims = self._claims(token)
        try:
            (role_name,) = claims.get("roles") or [None]
            role = Role(role_name)
            scopes = parse_scopes(claims.get("scope")) & ROLE_SCOPES[role]
            branch = claims.get("branch")
            merchant = claims.get("merchant")
            session = claims.get("sid")
            return Principal(
                kind=_kind_of(role, str(claims["sub"]), str(claims["client_id"])),
                subject=str(claims["sub"]),
                role=role,
                scopes=scopes,
                client_id=str(claims["client_id"]),
                token_id=str(claims["jti"]),
                expires_at=int(claims["exp"]),
                branch_id=uuid.UUID(branch) if branch else None,
                username=claims.get("preferred_username"),
                merchant_id=uuid.UUID(merchant) if merchant else None,
                session_id=uuid.UUID(session) if session else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise Unauthenticated("the access token carries no usable role or scope") from exc


def _kind_of(role: Role, subject: str, client_id: str) -> PrincipalKind:
    if role is Role.CUSTOMER:
        uuid.UUID(subject)
        return PrincipalKind.CUSTOMER
    if role is Role.MERCHANT:
        return PrincipalKind.MERCHANT
    if role is Role.SERVICE:
        return PrincipalKind.SERVICE
    uuid.UUID(subject)
    return PrincipalKind.STAFF
