"""Staff account mutations (admins; audited, versioned): thin calls into
``resolvers.admin.staff``, answering with the account (and a one-time password once)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Role, Scope
from models.organisation.organisation import StaffUser
from resolvers.admin import staff as service
from resolvers.admin.common import Events
from schema.admin.types import StaffAccount, StaffAccountPayload
from schema.common import mutation_payload
from schema.described import described_argument
from schema.relay import uuid_of
from schema.scope_field import scoped_field

ERRORS = " userErrors: NOT_FOUND, CONFLICT (stale `version`), BAD_USER_INPUT."
STAFF = "The account (a StaffMember ID)."
VERSION = "The account's `version` you read; any other is a CONFLICT."
SESSIONS = " Their current sessions end, so no token keeps the old rights."

Change = Callable[[AsyncSession, Events], Awaitable[StaffUser | tuple[StaffUser, str]]]


@strawberry.input(description="A new staff account.")
class CreateStaffUserInput:
    username: str = strawberry.field(
        description="The sign-in name: 3 to 64 lowercase letters, digits, dots, dashes, "
        "underscores; unique."
    )
    display_name: str = strawberry.field(description="The name to show for them.")
    role: Role = strawberry.field(description="Their role (a staff role).")
    branch_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Their branch (a Branch ID): required for agents and supervisors.",
    )


@strawberry.input(description="Names an account at the version you read.")
class StaffAccountInput:
    staff_id: strawberry.ID = strawberry.field(description=STAFF)
    version: int = strawberry.field(description=VERSION)


@strawberry.input(description="A new role for an account.")
class SetStaffRoleInput:
    staff_id: strawberry.ID = strawberry.field(description=STAFF)
    version: int = strawberry.field(description=VERSION)
    role: Role = strawberry.field(description="The new role (a staff role).")


@strawberry.input(description="A new branch for an account.")
class SetStaffBranchInput:
    staff_id: strawberry.ID = strawberry.field(description=STAFF)
    version: int = strawberry.field(description=VERSION)
    branch_id: strawberry.ID | None = strawberry.field(
        description="The branch (a Branch ID); null only for roles that need none."
    )


def _branch(value: strawberry.ID | None) -> uuid.UUID | None:
    return uuid_of(value, "Branch", field="branchId") if value else None


async def _run(info: Info, change: Change) -> StaffAccountPayload:
    async def write(session: AsyncSession, ctx: Context) -> StaffUser | tuple[StaffUser, str]:
        return await change(session, events_by(ctx))

    def done(result: StaffUser | tuple[StaffUser, str]) -> StaffAccountPayload:
        row, password = result if isinstance(result, tuple) else (result, None)
        return StaffAccountPayload(
            account=StaffAccount.from_row(row), one_time_password=password, user_errors=[]
        )

    return await mutation_payload(info, StaffAccountPayload, write, done)


def _id(input: StaffAccountInput | SetStaffRoleInput | SetStaffBranchInput) -> uuid.UUID:
    return uuid_of(input.staff_id, "StaffMember", field="staffId")


@strawberry.type
class StaffAdminMutation:
    @scoped_field(
        Scope.ADMIN,
        "Creates a staff account with a one-time password (in the payload, this once), "
        "which they must change at their first sign-in (admins; audited)." + ERRORS,
        staff_only=True,
    )
    async def create_staff_user(
        self, info: Info, input: Annotated[CreateStaffUserInput, described_argument("The account.")]
    ) -> StaffAccountPayload:
        return await _run(
            info,
            lambda session, events: service.create_staff(
                session,
                events=events,
                username=input.username,
                display_name=input.display_name,
                role=input.role,
                branch_id=_branch(input.branch_id),
            ),
        )

    @scoped_field(
        Scope.ADMIN,
        "Gives an account another role (admins; audited); the last active admin keeps "
        "theirs." + SESSIONS + ERRORS,
        staff_only=True,
    )
    async def set_staff_role(
        self, info: Info, input: Annotated[SetStaffRoleInput, described_argument("The change.")]
    ) -> StaffAccountPayload:
        return await _run(
            info,
            lambda session, events: service.set_role(
                session, events=events, staff_id=_id(input), version=input.version, role=input.role
            ),
        )

    @scoped_field(
        Scope.ADMIN,
        "Moves an account to another branch (admins; audited)." + SESSIONS + ERRORS,
        staff_only=True,
    )
    async def set_staff_branch(
        self, info: Info, input: Annotated[SetStaffBranchInput, described_argument("The change.")]
    ) -> StaffAccountPayload:
        return await _run(
            info,
            lambda session, events: service.set_branch(
                session,
                events=events,
                staff_id=_id(input),
                version=input.version,
                branch_id=_branch(input.branch_id),
            ),
        )

    @scoped_field(
        Scope.ADMIN,
        "Disables an account: no sign-in, no refresh (admins; audited); the last active "
        "admin cannot be disabled." + SESSIONS + ERRORS,
        staff_only=True,
    )
    async def disable_staff_user(
        self, info: Info, input: Annotated[StaffAccountInput, described_argument("The account.")]
    ) -> StaffAccountPayload:
        return await _run(
            info,
            lambda session, events: service.set_active(
                session, events=events, staff_id=_id(input), version=input.version, active=False
            ),
        )

    @scoped_field(
        Scope.ADMIN, "Enables a disabled account again (admins; audited)." + ERRORS, staff_only=True
    )
    async def enable_staff_user(
        self, info: Info, input: Annotated[StaffAccountInput, described_argument("The account.")]
    ) -> StaffAccountPayload:
        return await _run(
            info,
            lambda session, events: service.set_active(
                session, events=events, staff_id=_id(input), version=input.version, active=True
            ),
        )

    @scoped_field(
        Scope.ADMIN,
        "Lifts a lockout after too many failed sign-ins (admins; audited)." + ERRORS,
        staff_only=True,
    )
    async def unlock_staff_user(
        self, info: Info, input: Annotated[StaffAccountInput, described_argument("The account.")]
    ) -> StaffAccountPayload:
        return await _run(
            info,
            lambda session, events: service.unlock(
                session, events=events, staff_id=_id(input), version=input.version
            ),
        )

    @scoped_field(
        Scope.ADMIN,
        "Replaces an account's password with a new one-time password (in the payload, this "
        "once), to be changed at the next sign-in; lifts a lockout (admins; audited). Bank "
        "users have no password here (BAD_USER_INPUT)." + SESSIONS + ERRORS,
        staff_only=True,
    )
    async def reset_staff_password(
        self, info: Info, input: Annotated[StaffAccountInput, described_argument("The account.")]
    ) -> StaffAccountPayload:
        return await _run(
            info,
            lambda session, events: service.reset_password(
                session, events=events, staff_id=_id(input), version=input.version
            ),
        )
