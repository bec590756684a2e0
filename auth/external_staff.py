"""Bank users as cardcrm staff: a verified external identity becomes a staff Principal.

Every staff action is attributed to a ``staff_users`` row (interactions, complaint assignees,
offers and tier changes reference it, and the audit log names its id), so a bank user gets a
row of their own on first sight, just in time:

- its id is ``uuid5(issuer URL + sub)``: deterministic, so every instance derives the same id
  and the upsert is idempotent; the same person from another issuer is another row;
- its username is ``<issuer name>:<sub>`` (``bank:8f14e45f``): unique, and together with the
  issuer's configuration it names the external user (issuer + sub) wherever the audit log
  shows the staff id. A local account that already holds the name is never taken over: the
  token is refused instead;
- its role, branch and display name follow the bank's latest token, re-synchronised at most
  every ``oidc_staff_sync_seconds`` per user per instance (so there is no statement per
  request), and its password hash is a marker no password verifies, so the bank's users
  cannot sign in with a password;
- an administrator can still lock one out locally: a deactivated row refuses the bank's
  tokens from the next synchronisation on.

Branch codes are resolved to ids once and cached: branches are reference data.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from auth.oidc import Clock, ExternalIdentity
from core.database import Database
from core.errors import Unauthenticated
from core.identity import Principal, PrincipalKind
from models.columns import utcnow
from models.organisation.organisation import Branch, StaffUser

logger = logging.getLogger("cardcrm.oidc")

# Not an argon2 hash: verify_password treats it as invalid, so no password ever matches.
NO_PASSWORD = "!external-identity"
_NAMESPACE = uuid.UUID("5b1f0b3e-8c1e-4f7a-9d0a-6c6f2a1e0c11")


def external_staff_id(issuer: str, subject: str) -> uuid.UUID:
    """The staff id of a bank user: the same on every instance, distinct per issuer."""
    return uuid.uuid5(_NAMESPACE, f"{issuer}\x00{subject}")


@dataclass(frozen=True)
class _Synced:
    role: str
    branch_id: uuid.UUID | None
    display_name: str
    at: float


class ExternalStaffDirectory:
    """Maps external identities onto staff rows, with small in-process caches."""

    def __init__(self, database: Database, *, sync_seconds: float, clock: Clock = time.monotonic):
        self._database = database
        self._sync_seconds = sync_seconds
        self._clock = clock
        self._branches: dict[str, uuid.UUID] = {}
        self._synced: dict[uuid.UUID, _Synced] = {}

    async def principal_for(self, identity: ExternalIdentity) -> Principal:
        issuer = identity.issuer
        staff_id = external_staff_id(issuer.issuer, identity.subject)
        username = issuer.username_for(identity.subject)
        branch_id = await self._branch_id(identity.branch_code) if identity.branch_code else None
        wanted = _Synced(identity.role.value, branch_id, identity.display_name, self._clock())
        if not self._is_fresh(staff_id, wanted):
            await self._sync(staff_id, username, wanted)
        return Principal(
            kind=PrincipalKind.STAFF,
            subject=str(staff_id),
            role=identity.role,
            scopes=identity.scopes,
            client_id=identity.client_id,
            token_id=identity.token_id,
            expires_at=identity.expires_at,
            branch_id=branch_id,
            username=username,
            extra={"issuer": issuer.issuer, "external_subject": identity.subject},
        )

    async def _branch_id(self, code: str) -> uuid.UUID:
        cached = self._branches.get(code)
        if cached is not None:
            return cached
        async with self._database.session() as session:
            found: uuid.UUID | None = await session.scalar(
                select(col(Branch.id)).where(col(Branch.code) == code)
            )
        if found is None:
            raise Unauthenticated(f"the token's branch {code!r} is not a cardcrm branch")
        self._branches[code] = found
        return found

    def _is_fresh(self, staff_id: uuid.UUID, wanted: _Synced) -> bool:
        last = self._synced.get(staff_id)
        return (
            last is not None
            and (last.role, last.branch_id, last.display_name)
            == (wanted.role, wanted.branch_id, wanted.display_name)
            and wanted.at - last.at < self._sync_seconds
        )

    async def _sync(self, staff_id: uuid.UUID, username: str, wanted: _Synced) -> None:
        """Creates or updates the row in one statement; refuses a locally deactivated user."""
        now = utcnow()
        changes = {
            "role": wanted.role,
            "branch_id": wanted.branch_id,
            "display_name": wanted.display_name,
            "updated_at": now,
        }
        async with self._database.session() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = (
                insert(StaffUser)
                .values(
                    id=staff_id,
                    username=username,
                    password_hash=NO_PASSWORD,
                    is_active=True,
                    failed_logins=0,
                    created_at=now,
                    **changes,
                )
                .on_conflict_do_update(index_elements=[col(StaffUser.id)], set_=changes)
                .returning(col(StaffUser.is_active))
            )
            try:
                active = bool((await session.execute(statement)).scalar_one())
                await session.commit()
            except IntegrityError as exc:
                raise Unauthenticated(
                    f"the staff username {username!r} belongs to another account"
                ) from exc
        if not active:
            self._synced.pop(staff_id, None)
            raise Unauthenticated("this staff account is deactivated in cardcrm")
        if staff_id not in self._synced:
            logger.info("synchronised external staff user %s (%s)", username, wanted.role)
        self._synced[staff_id] = wanted
