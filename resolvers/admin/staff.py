"""Staff accounts as an administrator keeps them (audited, versioned).

An account is created with a role, a branch and a one-time password shown once; the person
must replace it at their first sign-in (``auth.login``). Agents and supervisors work at one
branch; the other roles may belong to none. Every change that alters what a signed-in user
may do (role, branch, disabling, a password reset) ends their sessions, so no token carries
the old rights past the change. The last active admin cannot be disabled or demoted.
Bank users (``auth.external_staff``) have no password here to reset.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.external_staff import NO_PASSWORD
from auth.password_rule import one_time_password
from auth.passwords import hash_password
from core.errors import BadUserInput, Conflict
from core.identity import STAFF_ROLES, Role
from models.columns import utcnow
from models.organisation.organisation import Branch, RefreshToken, StaffUser
from resolvers.admin.branches import checked_name
from resolvers.admin.common import Events, check_version, locked

BRANCH_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
STAFF = "staff user"
FIELD = "staffId"


async def _checked_placement(
    session: AsyncSession, role: Role, branch_id: uuid.UUID | None
) -> None:
    if role not in STAFF_ROLES:
        raise BadUserInput(f"{role.value} is not a staff role", field="role")
    if role in BRANCH_ROLES and branch_id is None:
        raise BadUserInput(f"a {role.value} works at a branch: give one", field="branchId")
    if branch_id is not None and await session.get(Branch, branch_id) is None:
        raise BadUserInput("no branch with this id", field="branchId")


async def _end_sessions(session: AsyncSession, user: StaffUser) -> None:
    """Revokes every refresh-token family of the user, and with them their access tokens."""
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user.id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


async def _keep_an_admin(session: AsyncSession, user: StaffUser) -> None:
    """CONFLICT when ``user`` is the last active admin (checked before they stop being one)."""
    if user.role != Role.ADMIN.value or not user.is_active:
        return
    others = await session.scalar(
        select(func.count())
        .select_from(StaffUser)
        .where(
            col(StaffUser.role) == Role.ADMIN.value,
            col(StaffUser.is_active).is_(True),
            col(StaffUser.id) != user.id,
        )
    )
    if not others:
        raise Conflict("this is the last active admin; appoint another first", field=FIELD)


async def _commit(
    session: AsyncSession, events: Events, action: str, user: StaffUser, **details: object
) -> StaffUser:
    user.updated_at = utcnow()
    await audit.record_and_commit(
        session,
        events(
            action,
            target_type="StaffMember",
            target_id=str(user.id),
            details={key: str(value) for key, value in details.items()},
        ),
    )
    return user


async def create_staff(
    session: AsyncSession,
    *,
    events: Events,
    username: str,
    display_name: str,
    role: Role,
    branch_id: uuid.UUID | None,
) -> tuple[StaffUser, str]:
    """The new account and its one-time password (shown to the admin once, stored hashed)."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise BadUserInput(
            "a username is 3 to 64 lowercase letters, digits, dots, dashes or underscores",
            field="username",
        )
    await _checked_placement(session, role, branch_id)
    password = one_time_password()
    user = StaffUser(
        username=username,
        display_name=checked_name(display_name, "displayName"),
        password_hash=await hash_password(password),
        role=role.value,
        branch_id=branch_id,
        must_change_password=True,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(f"the username {username!r} is taken", field="username") from exc
    await _commit(session, events, "staff.create", user, role=role.value, branch=branch_id)
    return user, password


async def set_role(
    session: AsyncSession, *, events: Events, staff_id: uuid.UUID, version: int | None, role: Role
) -> StaffUser:
    user = await locked(session, StaffUser, staff_id, STAFF, FIELD)
    check_version(user, version, STAFF)
    await _checked_placement(session, role, user.branch_id)
    if role is not Role.ADMIN:
        await _keep_an_admin(session, user)
    before, user.role = user.role, role.value
    await _end_sessions(session, user)
    return await _commit(session, events, "staff.set_role", user, before=before, role=role.value)


async def set_branch(
    session: AsyncSession,
    *,
    events: Events,
    staff_id: uuid.UUID,
    version: int | None,
    branch_id: uuid.UUID | None,
) -> StaffUser:
    user = await locked(session, StaffUser, staff_id, STAFF, FIELD)
    check_version(user, version, STAFF)
    await _checked_placement(session, Role(user.role), branch_id)
    before, user.branch_id = user.branch_id, branch_id
    await _end_sessions(session, user)
    return await _commit(session, events, "staff.set_branch", user, before=before, branch=branch_id)


async def set_active(
    session: AsyncSession,
    *,
    events: Events,
    staff_id: uuid.UUID,
    version: int | None,
    active: bool,
) -> StaffUser:
    user = await locked(session, StaffUser, staff_id, STAFF, FIELD)
    check_version(user, version, STAFF)
    if not active:
        await _keep_an_admin(session, user)
        await _end_sessions(session, user)
    user.is_active = active
    return await _commit(session, events, "staff.enable" if active else "staff.disable", user)


async def unlock(
    session: AsyncSession, *, events: Events, staff_id: uuid.UUID, version: int | None
) -> StaffUser:
    """Lifts a lockout after too many failed sign-ins (and forgets the failures)."""
    user = await locked(session, StaffUser, staff_id, STAFF, FIELD)
    check_version(user, version, STAFF)
    user.locked_until, user.failed_logins = None, 0
    return await _commit(session, events, "staff.unlock", user)


async def reset_password(
    session: AsyncSession, *, events: Events, staff_id: uuid.UUID, version: int | None
) -> tuple[StaffUser, str]:
    """A new one-time password (the old one stops working, sessions end, a lock lifts)."""
    user = await locked(session, StaffUser, staff_id, STAFF, FIELD)
    if user.password_hash == NO_PASSWORD:
        raise BadUserInput("this user signs in through the bank: no password here", field=FIELD)
    check_version(user, version, STAFF)
    password = one_time_password()
    user.password_hash = await hash_password(password)
    user.must_change_password = True
    user.locked_until, user.failed_logins = None, 0
    await _end_sessions(session, user)
    return await _commit(session, events, "staff.reset_password", user), password


async def staff_by_username(session: AsyncSession, username: str) -> StaffUser:
    """The account with this username (the CLI names staff by username)."""
    user = await session.scalar(
        select(StaffUser).where(col(StaffUser.username) == username.strip())
    )
    if user is None:
        raise BadUserInput(f"no staff user {username!r}", field="username")
    return user


async def create_first_admin(
    session: AsyncSession, *, events: Events, username: str
) -> tuple[StaffUser, str]:
    """``cardcrm init``: the first admin of an empty database, with a one-time password;
    CONFLICT once any staff account exists (the admins create the others)."""
    if await session.scalar(select(func.count()).select_from(StaffUser)):
        raise Conflict("staff accounts exist already: an admin creates the others")
    return await create_staff(
        session,
        events=events,
        username=username,
        display_name="Administrator",
        role=Role.ADMIN,
        branch_id=None,
    )
