"""The OAuth 2.0 authorization server's metadata document (RFC 8414): where the endpoints of
``auth.oauth`` are, which grants, scopes and client authentication methods they take, and
where the token-signing keys are published. Clients discover the server from it, so it is
built from the same constants the server enforces and validated by authlib before use.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from auth.oauth import (
    AUTH_METHODS,
    GRANT_TYPES,
    INTROSPECTION_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
)
from auth.scopes import ROLE_SCOPES
from core.identity import Role

METADATA_PATH = "/.well-known/oauth-authorization-server"
JWKS_PATH = "/.well-known/jwks.json"


def supported_scopes() -> list[str]:
    return sorted(ROLE_SCOPES[Role.MERCHANT] | ROLE_SCOPES[Role.SERVICE])


class _Metadata(AuthorizationServerMetadata):  # type: ignore[misc]
    def validate_response_types_supported(self) -> None:
        """No authorization endpoint, so no response type: the required list is empty."""
        if self.get("response_types_supported") != []:
            raise ValueError('"response_types_supported" must be empty: no grant uses it')


@cache
def server_metadata(issuer: str) -> dict[str, Any]:
    """The RFC 8414 document; the issuer is the public base URL of the endpoints."""
    base = issuer.rstrip("/")
    metadata = _Metadata(
        {
            "issuer": issuer,
            "token_endpoint": base + TOKEN_PATH,
            "jwks_uri": base + JWKS_PATH,
            "scopes_supported": supported_scopes(),
            "response_types_supported": [],
            "grant_types_supported": GRANT_TYPES,
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint": base + REVOCATION_PATH,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "introspection_endpoint": base + INTROSPECTION_PATH,
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        }
    )
    metadata.validate()
    return dict(metadata)
