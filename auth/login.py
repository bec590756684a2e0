"""Staff sign-in: password → access token + rotating refresh token.

Failures are all alike (same message, same time: unknown users are checked against a dummy
hash) so the endpoint does not tell which usernames exist. After too many consecutive
failures the account is locked for a while; a locked account refuses even the right password.
Refresh tokens rotate on every use; presenting a used one revokes its whole family, and the
access tokens issued with that family stop working too (their ``sid`` claim names it).

A one-time password (``must_change_password``) signs in to nothing but its own replacement:
``login`` answers PASSWORD_CHANGE_REQUIRED, ``change_password`` sets the new one (checked by
``auth.password_rule``), ends every earlier session of the user and issues the pair.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.password_rule import check_new_password
from auth.passwords import hash_password, verify_password
from auth.tokens import TokenService
from core.errors import PasswordChangeRequired, Unauthenticated
from core.identity import Role
from core.settings import Settings
from models.columns import utcnow
from models.organisation.organisation import RefreshToken, StaffUser

CONSOLE_CLIENT_ID = "cardcrm-console"
PASSWORD_CHANGE_ACTION = "staff.password_change"
BAD_CREDENTIALS = "wrong username or password, or the account is locked; try again later"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def as_json(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_token_for(
    tokens: TokenService, user: StaffUser, ttl: int, *, session_id: uuid.UUID | None = None
) -> str:
    """A console access token; ``session_id`` names its refresh-token family, so revoking the
    family (a reused refresh token) refuses this access token too (``auth.revocation``)."""
    return tokens.issue(
        subject=str(user.id),
        role=Role(user.role),
        client_id=CONSOLE_CLIENT_ID,
        branch_id=user.branch_id,
        username=user.username,
        session_id=session_id,
        ttl=ttl,
    )


async def _issue_pair(
    session: AsyncSession,
    tokens: TokenService,
    settings: Settings,
    user: StaffUser,
    family_id: uuid.UUID,
) -> TokenPair:
    refresh = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            family_id=family_id,
            user_id=user.id,
            token_hash=_digest(refresh),
            expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    await session.commit()
    ttl = settings.access_token_ttl_seconds
    return TokenPair(access_token_for(tokens, user, ttl, session_id=family_id), refresh, ttl)


async def _authenticated(
    session: AsyncSession, settings: Settings, username: str, password: str
) -> StaffUser:
    """The active, unlocked user with this password; else a failure counted towards lockout."""
    user = await session.scalar(select(StaffUser).where(StaffUser.username == username))
    now = utcnow()
    locked = user is not None and user.locked_until is not None and user.locked_until > now
    valid = await verify_password(user.password_hash if user else None, password)
    if user is None or not user.is_active or locked or not valid:
        if user is not None and not locked:
            user.failed_logins += 1
            if user.failed_logins >= settings.login_max_failures:
                user.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
                user.failed_logins = 0
            await session.commit()
        raise Unauthenticated(BAD_CREDENTIALS)
    user.failed_logins, user.locked_until = 0, None
    return user


async def login(
    session: AsyncSession, tokens: TokenService, settings: Settings, username: str, password: str
) -> TokenPair:
    """A token pair; PASSWORD_CHANGE_REQUIRED (and no token) for a one-time password."""
    user = await _authenticated(session, settings, username, password)
    if user.must_change_password:
        await session.commit()
        raise PasswordChangeRequired(
            "this is a one-time password: choose your own with POST /auth/password "
            "(username, password, new_password)"
        )
    return await _issue_pair(session, tokens, settings, user, uuid.uuid4())


async def change_password(
    session: AsyncSession,
    tokens: TokenService,
    settings: Settings,
    *,
    username: str,
    password: str,
    new_password: str,
) -> TokenPair:
    """Replaces the password (one-time or not) after checking the current one like a
    sign-in; every earlier session of the user is revoked, and a fresh pair is issued."""
    user = await _authenticated(session, settings, username, password)
    check_new_password(settings, username=username, old=password, new=new_password)
    now = utcnow()
    user.password_hash = await hash_password(new_password)
    user.must_change_password = False
    user.password_changed_at = now
    user.updated_at = now
    user.version += 1
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user.id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    event = audit.AuditEvent(
        actor_kind="staff",
        actor_id=str(user.id),
        action=PASSWORD_CHANGE_ACTION,
        target_type="StaffMember",
        target_id=str(user.id),
    )
    async with audit.chain_lock(session):  # the entry commits with the change and the pair
        await audit.append(session, event)
        return await _issue_pair(session, tokens, settings, user, uuid.uuid4())


async def refresh(
    session: AsyncSession, tokens: TokenService, settings: Settings, refresh_token: str
) -> TokenPair:
    stored = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token))
    )
    now = utcnow()
    if stored is None:
        raise Unauthenticated("unknown refresh token; sign in again")
    user = await session.get(StaffUser, stored.user_id)
    if stored.expires_at <= now or user is None or not user.is_active:
        raise Unauthenticated("the refresh token has expired; sign in again")
    # Claim the token atomically: of two concurrent uses, exactly one wins.
    claimed = await session.execute(
        update(RefreshToken)
        .where(
            col(RefreshToken.id) == stored.id,
            col(RefreshToken.used_at).is_(None),
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await session.execute(
            update(RefreshToken)
            .where(col(RefreshToken.family_id) == stored.family_id)
            .values(revoked_at=now)
        )
        await session.commit()
        raise Unauthenticated("this refresh token was already used; every session of it is revoked")
    return await _issue_pair(session, tokens, settings, user, stored.family_id)
