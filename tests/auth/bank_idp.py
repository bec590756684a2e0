"""A stand-in for the bank's identity provider: a real JWKS endpoint served over HTTP by
uvicorn on a loopback port, and tokens signed with its keys by joserfc.

The provider counts the requests its JWKS endpoint receives, can publish a different key set
(rotation), answer 503 (``failing``) or stop altogether (``stop()``), so tests can state
exactly when cardcrm fetches keys and what it does when it cannot.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from joserfc import jwt
from joserfc.jwk import ECKey, Key, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from core.identity import Role
from core.oidc_issuer import OidcIssuer
from tests.conftest import _free_port

ISSUER = "https://idp.bank.test/realms/staff"
AUDIENCE = "cardcrm-api"
ROLES = {
    "crm-admin": Role.ADMIN,
    "crm-supervisor": Role.SUPERVISOR,
    "crm-agent": Role.AGENT,
    "crm-marketing": Role.MARKETER,
}


def rsa_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"}, private=True)


# Generated once per test run: RSA key generation is the slow part of these tests.
KEY_2024 = rsa_key("bank-2024")
KEY_2025 = rsa_key("bank-2025")
OUTSIDER_KEY = rsa_key("outsider")  # never published
EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "bank-ec", "use": "sig"}, private=True)


@dataclass
class Served:
    """An ASGI app served by uvicorn on a free loopback port until ``stop()``."""

    base_url: str
    server: uvicorn.Server
    task: asyncio.Task[None]

    async def stop(self) -> None:
        if not self.task.done():
            self.server.should_exit = True
            await self.task


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[Served]:
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    served = Served(f"http://127.0.0.1:{port}", server, task)
    try:
        yield served
    finally:
        await served.stop()


@dataclass
class BankIdp:
    published: list[Key] = field(default_factory=lambda: [KEY_2024])
    requests: int = 0  # to /jwks
    other_requests: int = 0  # to any other path
    failing: bool = False
    served: Served | None = None

    @property
    def base_url(self) -> str:
        assert self.served is not None, "the IdP is not being served"
        return self.served.base_url

    @property
    def jwks_uri(self) -> str:
        return f"{self.base_url}/jwks"

    def issuer(self, **overrides: Any) -> OidcIssuer:
        config: dict[str, Any] = {
            "name": "bank",
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks_uri": self.jwks_uri,
            "roles": ROLES,
        }
        config.update(overrides)
        return OidcIssuer.model_validate(config)

    async def stop(self) -> None:
        """The JWKS endpoint goes away: connections are refused from now on."""
        assert self.served is not None
        await self.served.stop()

    def app(self) -> Starlette:
        async def jwks(request: Request) -> Response:
            self.requests += 1
            if self.failing:
                return JSONResponse({"error": "maintenance"}, status_code=503)
            return JSONResponse({"keys": [key.as_dict(private=False) for key in self.published]})

        async def other(request: Request) -> Response:
            self.other_requests += 1
            return JSONResponse({"keys": [OUTSIDER_KEY.as_dict(private=False)]})

        return Starlette(routes=[Route("/jwks", jwks), Route("/{path:path}", other)])


@asynccontextmanager
async def bank_idp() -> AsyncIterator[BankIdp]:
    idp = BankIdp()
    async with serving(idp.app()) as idp.served:
        yield idp


def bank_claims(**overrides: Any) -> dict[str, Any]:
    """An agent of branch BJ-CY, as the bank's IdP would describe them."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "f3c9a1d2-0b7e-4c55-9e0a-2d41b8e7c611",
        "azp": "cardcrm-console",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "roles": ["crm-agent"],
        "branch": "BJ-CY",
        "name": "王小明",
        "preferred_username": "wangxm",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def bank_token(key: Key = KEY_2024, *, alg: str = "RS256", **claims: Any) -> str:
    """A token signed by ``key``, its ``kid`` in the header; ``claims`` override the agent's."""
    header = {"alg": alg, "typ": "JWT", "kid": key.kid}
    return jwt.encode(header, bank_claims(**claims), key, algorithms=[alg])
