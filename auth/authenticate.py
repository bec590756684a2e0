"""One entry point from a bearer token to a Principal, whoever issued the token.

A token whose ``iss`` names a configured external issuer (the bank's identity provider) is
verified by ``auth.oidc`` against that issuer's keys and rules, and its user becomes a staff
principal through ``auth.external_staff``. Every other token is cardcrm's own business:
``TokenService.verify`` accepts only our issuer and our key, so a token of an unknown issuer is
UNAUTHENTICATED there, exactly as before external issuers existed.
"""

from __future__ import annotations

from typing import Protocol

from auth.external_staff import ExternalStaffDirectory
from auth.oidc import OidcVerifier
from auth.tokens import TokenService
from core.identity import Principal


class TokenVerifiers(Protocol):
    """The verifiers a running server keeps (``api.state.AppState`` has them)."""

    tokens: TokenService
    oidc: OidcVerifier
    external_staff: ExternalStaffDirectory


async def authenticate(state: TokenVerifiers, token: str) -> Principal:
    """The principal a valid token speaks for; any flaw raises Unauthenticated."""
    issuer = state.oidc.issuer_of(token)
    if issuer is None:
        return state.tokens.verify(token)
    identity = await state.oidc.verify(token, issuer)
    return await state.external_staff.principal_for(identity)
