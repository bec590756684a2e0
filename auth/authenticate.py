"""One entry point from a bearer token to a Principal, whoever issued the token.

A token whose ``iss`` names a configured external issuer (the bank's identity provider) is
verified by ``auth.oidc`` against that issuer's keys and rules, and its user becomes a staff
principal through ``auth.external_staff``. Every other token is cardcrm's own business:
``TokenService.verify`` accepts only our issuer and our key, so a token of an unknown issuer is
UNAUTHENTICATED there, exactly as before external issuers existed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auth.principal import Principal

if TYPE_CHECKING:
    from api.state import AppState


async def authenticate(state: AppState, token: str) -> Principal:
    """The principal a valid token speaks for; any flaw raises Unauthenticated."""
    issuer = state.oidc.issuer_of(token)
    if issuer is None:
        return state.tokens.verify(token)
    identity = await state.oidc.verify(token, issuer)
    return await state.external_staff.principal_for(identity)
