"""Revoked tokens stop working at once, on every instance: OAuth-client tokens, and the
console access tokens of a revoked sign-in.

Client tokens are self-contained JWTs, so revocation is a list: RFC 7009 revocation records the
token's ``jti`` in ``revoked_tokens``, and revoking a client sets ``oauth_clients.revoked_at``.
Every request made with a merchant or service token then asks the database one question, in
one statement on two unique indexes: is this jti listed, or is its client no longer active?
Nothing is cached, so every instance behind a load balancer sees a revocation with the very
next request (they share the database). Customer tokens, and staff tokens that do not come
from a console sign-in, skip the check: no statement on their hot path.

A staff access token issued by ``/auth/login`` or ``/auth/refresh`` names its refresh-token
family in its ``sid`` claim. When a reused refresh token revokes the family
(``auth.login.refresh``), the family's access tokens, self-contained JWTs that would verify
until they expire, are refused too: every request made with one asks one question on the
``refresh_tokens.family_id`` index (is any token of this family revoked?). That is one indexed
statement per console request, uncached, so the refusal holds from the very next request on
every instance.

A listed jti matters only while its token could still verify, so rows past their token's
expiry (plus a margin wider than the verifier's clock leeway) are purged.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, not_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlmodel import col

from core.database import Database
from core.errors import Unauthenticated
from core.identity import Principal
from models.columns import utcnow
from models.merchants.merchant import OAuthClient, RevokedToken
from models.organisation.organisation import RefreshToken

REVOKED = "the access token has been revoked; request a new one at /oauth/token"
SESSION_REVOKED = "this sign-in was revoked (a refresh token was reused); sign in again"
# Longer than auth.tokens' 30 s leeway: a row is kept while its token could still verify.
PURGE_MARGIN = timedelta(minutes=5)


def revoked_statement(*, token_id: str, client_id: str) -> Select[tuple[bool]]:
    """True when the token is listed or its client is revoked (or gone)."""
    listed = exists().where(col(RevokedToken.jti) == token_id)
    client_active = exists().where(
        col(OAuthClient.client_id) == client_id, col(OAuthClient.revoked_at).is_(None)
    )
    return select(or_(listed, not_(client_active)))


async def is_revoked(session: AsyncSession, *, token_id: str, client_id: str) -> bool:
    return bool(await session.scalar(revoked_statement(token_id=token_id, client_id=client_id)))


def session_revoked_statement(session_id: uuid.UUID) -> Select[tuple[bool]]:
    """True when the refresh-token family ``session_id`` has been revoked."""
    return select(
        exists().where(
            col(RefreshToken.family_id) == session_id, col(RefreshToken.revoked_at).is_not(None)
        )
    )


async def ensure_not_revoked(database: Database, principal: Principal) -> None:
    """Raises UNAUTHENTICATED for a revoked client token or a token of a revoked sign-in;
    other tokens cost nothing."""
    if principal.session_id is not None:
        async with database.session() as session:
            if await session.scalar(session_revoked_statement(principal.session_id)):
                raise Unauthenticated(SESSION_REVOKED)
        return
    if not principal.is_oauth_client:
        return
    async with database.session() as session:
        revoked = await is_revoked(
            session, token_id=principal.token_id, client_id=principal.client_id
        )
    if revoked:
        raise Unauthenticated(REVOKED)


async def revoke_token(
    session: AsyncSession, *, token_id: str, client_id: str, expires_at: datetime
) -> None:
    """Lists the token (again is a no-op), sweeps expired rows, and commits."""
    values = {"jti": token_id, "client_id": client_id, "expires_at": expires_at}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(RevokedToken).values(revoked_at=utcnow(), **values).on_conflict_do_nothing()
    )
    await _delete_expired(session)
    await session.commit()


async def purge_expired(session: AsyncSession) -> int:
    """Deletes the rows of tokens that can no longer verify; returns how many."""
    removed = await _delete_expired(session)
    await session.commit()
    return removed


async def _delete_expired(session: AsyncSession) -> int:
    result = await session.execute(
        delete(RevokedToken).where(col(RevokedToken.expires_at) < utcnow() - PURGE_MARGIN)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
