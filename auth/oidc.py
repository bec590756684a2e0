"""Verifying JWTs from the bank's identity provider (trusted external OIDC issuers).

A token names its issuer in ``iss``; that claim is read unverified only to choose which
configured issuer's keys and rules apply, then joserfc verifies everything against that one
issuer: the signature with a key from its JWKS, ``alg`` from its allow-list (so ``none`` and
HS256-with-the-public-key never pass), ``iss``, ``aud``, ``exp``/``nbf``/``iat`` with the same
30 s leeway as cardcrm's own tokens, and the same maximum lifetime.

Each issuer's keys are cached (``JwksCache``): fetched from the configured ``jwks_uri`` only
(a token's ``jku``/``x5u`` headers are ignored and redirects are not followed), kept for
``oidc_jwks_cache_seconds``, refetched when a token names an unknown ``kid`` (the issuer
rotated its key) but at most once per ``oidc_jwks_min_refetch_seconds``, so a flood of bogus
kids costs the bank one request per interval; and when the JWKS endpoint is down the keys
already cached keep working.

The result is an ``ExternalIdentity``: who (issuer + subject) and what the bank's claims map to
(role, branch code, scopes). ``auth.external_staff`` turns it into a Principal.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import ClaimError, JoseError
from joserfc.jwk import JWKRegistry, Key, KeySet
from joserfc.jwt import JWTClaimsRegistry

from auth.scopes import ROLE_SCOPES
from core.errors import Unauthenticated
from core.identity import ALL_BRANCH_ROLES, Role, Scope
from core.oidc_issuer import OidcIssuer

logger = logging.getLogger("cardcrm.oidc")

LEEWAY_SECONDS = 30  # as auth.tokens
MAX_JWKS_BYTES = 256 * 1024
_SCOPE_NAMES = frozenset(scope.value for scope in Scope)

Clock = Callable[[], float]
Fetch = Callable[[str], Awaitable[object]]


@dataclass(frozen=True)
class ExternalIdentity:
    """A verified bank token, mapped: the issuer and subject name the person."""

    issuer: OidcIssuer
    subject: str
    role: Role
    scopes: frozenset[Scope]
    branch_code: str | None  # cardcrm's Branch.code, already mapped
    display_name: str
    client_id: str
    token_id: str
    expires_at: int


def peek_issuer(token: str) -> str | None:
    """The unverified ``iss`` of a compact JWS, only to choose whose rules verify it."""
    try:
        claims = json.loads(jws.extract_compact(token.encode()).payload or b"")
    except (JoseError, ValueError, TypeError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


def signing_keys(document: object, algorithms: Iterable[str]) -> KeySet:
    """The public signature keys of a JWKS document; other keys (``use: enc``, symmetric,
    unknown types, keys pinned to an algorithm we do not allow) are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document: no `keys` list")
    allowed = set(algorithms)
    keys: list[Key] = []
    for data in document["keys"]:
        if not isinstance(data, dict) or data.get("kty") == "oct" or data.get("use") == "enc":
            continue
        if "alg" in data and data["alg"] not in allowed:
            continue
        try:
            keys.append(JWKRegistry.import_key(data))
        except (JoseError, ValueError, TypeError):
            continue
    if not keys:
        raise ValueError("the JWKS holds no usable signature key")
    return KeySet(keys)


class JwksCache:
    """One issuer's public keys: cached, refreshed on rotation, never fetched in a flood."""

    def __init__(
        self,
        issuer: OidcIssuer,
        fetch: Fetch,
        *,
        ttl_seconds: float,
        min_refetch_seconds: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._fetch_json = fetch
        self._ttl = ttl_seconds
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = 0.0  # last success
        self._attempted_at: float | None = None  # last try, success or not
        self._lock = asyncio.Lock()

    async def keys_for(self, kid: str | None) -> KeySet:
        """The key set to verify a token with this ``kid``; fetches only when it must."""
        if self._needs_fetch(kid):
            async with self._lock:  # one fetch for a burst of requests
                if self._needs_fetch(kid) and self._may_fetch():
                    await self._fetch()
        if self._keys is None:
            raise Unauthenticated(
                f"the signing keys of {self.issuer.issuer} are unavailable; try again shortly"
            )
        return self._keys

    def _needs_fetch(self, kid: str | None) -> bool:
        if self._keys is None or self._clock() - self._fetched_at >= self._ttl:
            return True
        return kid is not None and all(key.kid != kid for key in self._keys)

    def _may_fetch(self) -> bool:
        last = self._attempted_at
        return last is None or self._clock() - last >= self._min_refetch

    async def _fetch(self) -> None:
        self._attempted_at = self._clock()
        try:
            document = await self._fetch_json(self.issuer.jwks_uri)
            keys = signing_keys(document, self.issuer.algorithms)
        except (httpx.HTTPError, httpx.StreamError, OSError, ValueError) as exc:
            kept = len(self._keys.keys) if self._keys else 0
            logger.warning(
                "could not fetch the JWKS of %s (%s); keeping %d cached key(s)",
                self.issuer.name,
                type(exc).__name__,
                kept,
            )
            return
        self._keys, self._fetched_at = keys, self._clock()
        logger.info("fetched %d signing key(s) of %s", len(keys.keys), self.issuer.name)


class OidcVerifier:
    """Verifies tokens of the configured external issuers; holds their key caches."""

    def __init__(
        self,
        issuers: Iterable[OidcIssuer],
        *,
        max_lifetime: int,
        jwks_cache_seconds: float,
        jwks_min_refetch_seconds: float,
        jwks_timeout_seconds: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.max_lifetime = max_lifetime
        self._timeout = jwks_timeout_seconds
        self._client: httpx.AsyncClient | None = None  # made on the first fetch
        self._caches = {
            issuer.issuer: JwksCache(
                issuer,
                self._fetch_json,
                ttl_seconds=jwks_cache_seconds,
                min_refetch_seconds=jwks_min_refetch_seconds,
                clock=clock,
            )
            for issuer in issuers
        }

    def issuer_of(self, token: str) -> OidcIssuer | None:
        """The configured issuer this token claims to come from, if any."""
        if not self._caches:
            return None  # no external issuer: cardcrm's own tokens pay nothing extra
        cache = self._caches.get(peek_issuer(token) or "")
        return cache.issuer if cache else None

    async def verify(self, token: str, issuer: OidcIssuer) -> ExternalIdentity:
        """The mapped identity of a valid token of ``issuer``; any flaw is UNAUTHENTICATED."""
        claims = await self._verified_claims(token, issuer)
        role = _role(claims, issuer)
        subject = str(claims["sub"])
        if len(subject) > issuer.max_subject_length:
            raise Unauthenticated(
                f"the token's subject is longer than {issuer.max_subject_length} characters"
            )
        return ExternalIdentity(
            issuer=issuer,
            subject=subject,
            role=role,
            scopes=_scopes(claims, issuer, role),
            branch_code=_branch_code(claims, issuer, role),
            display_name=_display_name(claims, subject),
            client_id=str(claims.get("azp") or claims.get("client_id") or issuer.audience),
            token_id=str(claims.get("jti") or hashlib.sha256(token.encode()).hexdigest()[:32]),
            expires_at=int(claims["exp"]),
        )

    async def _verified_claims(self, token: str, issuer: OidcIssuer) -> dict[str, Any]:
        try:
            kid = jws.extract_compact(token.encode()).headers().get("kid")
        except (JoseError, ValueError, TypeError) as exc:
            raise Unauthenticated("the access token is malformed") from exc
        keys = await self._caches[issuer.issuer].keys_for(kid if isinstance(kid, str) else None)
        try:
            decoded = jwt.decode(token, keys, algorithms=list(issuer.algorithms))
        except (JoseError, ValueError) as exc:
            raise Unauthenticated(
                "the access token's signature or algorithm is not accepted for its issuer"
            ) from exc
        registry = JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer.issuer},
            aud={"essential": True, "value": issuer.audience},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
        except ClaimError as exc:
            raise Unauthenticated(
                f"the access token's `{exc.claim}` claim was rejected: {exc.description}"
            ) from exc
        if int(decoded.claims["exp"]) - int(decoded.claims["iat"]) > self.max_lifetime:
            raise Unauthenticated("the access token lives longer than this server accepts")
        return decoded.claims

    async def _fetch_json(self, url: str) -> object:
        """GET a JSON document of bounded size; redirects are not followed."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        body = bytearray()
        async with self._client.stream("GET", url) as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError("the JWKS document is too large")
        return json.loads(body)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for name in path.split("."):
        value = value.get(name) if isinstance(value, dict) else None
    return value


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _role(claims: dict[str, Any], issuer: OidcIssuer) -> Role:
    """The first role of the issuer's mapping that the token carries."""
    carried = set(_names(_claim(claims, issuer.role_claim)))
    for bank_value, role in issuer.roles.items():
        if bank_value in carried:
            return role
    raise Unauthenticated(
        f"the token's `{issuer.role_claim}` claim grants no cardcrm role; "
        "ask an administrator to map the bank role"
    )


def _scopes(claims: dict[str, Any], issuer: OidcIssuer, role: Role) -> frozenset[Scope]:
    """The role's scopes, narrowed by the token's scope claim when it has one (names that are
    not cardcrm scopes, such as ``openid``, are ignored)."""
    granted = ROLE_SCOPES[role]
    if issuer.scope_claim is None or _claim(claims, issuer.scope_claim) is None:
        return granted
    carried = {Scope(n) for n in _names(_claim(claims, issuer.scope_claim)) if n in _SCOPE_NAMES}
    return granted & carried


def _branch_code(claims: dict[str, Any], issuer: OidcIssuer, role: Role) -> str | None:
    value = _claim(claims, issuer.branch_claim)
    if value is None or value == "":
        if role in ALL_BRANCH_ROLES:
            return None
        raise Unauthenticated(f"a {role} token needs the `{issuer.branch_claim}` claim")
    if not isinstance(value, str):
        raise Unauthenticated(f"the `{issuer.branch_claim}` claim must be a branch code")
    if not issuer.branch_codes:
        return value
    mapped = issuer.branch_codes.get(value)
    if mapped is None:
        raise Unauthenticated(f"the bank branch {value!r} is not mapped to a cardcrm branch")
    return mapped


def _display_name(claims: dict[str, Any], subject: str) -> str:
    for name in ("name", "preferred_username"):
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:100]
    return subject[:100]
