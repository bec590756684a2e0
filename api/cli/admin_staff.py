"""``cardcrm admin staff``: staff accounts (see ``api.cli.admin``); a username names one."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.cli.admin_support import do, say, show_password
from api.cli.common import console
from core.identity import Role
from models.organisation.organisation import StaffUser
from resolvers.admin import branches, staff
from resolvers.admin.common import cli_events

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)

USERNAME = typer.Argument(..., help="The account's username.")


@app.command("create")
def staff_create(
    username: str = USERNAME,
    role: Role = typer.Option(..., "--role"),
    name: str = typer.Option(..., "--name", help="The display name."),
    branch: str | None = typer.Option(
        None, "--branch", help="A branch code (agents, supervisors)."
    ),
) -> None:
    """Creates a staff account and prints its one-time password."""

    async def work(session: AsyncSession, _: str) -> tuple[str, str]:
        branch_id = (await branches.branch_by_code(session, branch)).id if branch else None
        user, password = await staff.create_staff(
            session,
            events=cli_events(),
            username=username,
            display_name=name,
            role=role,
            branch_id=branch_id,
        )
        return user.username, password

    show_password(*do(work))


@app.command("set-role")
def staff_set_role(username: str = USERNAME, role: Role = typer.Argument(...)) -> None:
    """Gives an account another role (its sessions end)."""

    async def work(session: AsyncSession, _: str) -> str:
        user = await staff.staff_by_username(session, username)
        await staff.set_role(
            session, events=cli_events(), staff_id=user.id, version=None, role=role
        )
        return f"{username} is now {role.value}"

    say(do(work))


@app.command("set-branch")
def staff_set_branch(
    username: str = USERNAME,
    branch: str | None = typer.Argument(None, help="A branch code; leave out for none."),
) -> None:
    """Moves an account to another branch (its sessions end)."""

    async def work(session: AsyncSession, _: str) -> str:
        user = await staff.staff_by_username(session, username)
        branch_id = (await branches.branch_by_code(session, branch)).id if branch else None
        await staff.set_branch(
            session, events=cli_events(), staff_id=user.id, version=None, branch_id=branch_id
        )
        return f"{username} is now at {branch or 'no branch'}"

    say(do(work))


def _set_active(username: str, active: bool) -> None:
    async def work(session: AsyncSession, _: str) -> str:
        user = await staff.staff_by_username(session, username)
        await staff.set_active(
            session, events=cli_events(), staff_id=user.id, version=None, active=active
        )
        return f"{username} is {'enabled' if active else 'disabled'}"

    say(do(work))


@app.command("disable")
def staff_disable(username: str = USERNAME) -> None:
    """Disables an account (no sign-in; its sessions end)."""
    _set_active(username, False)


@app.command("enable")
def staff_enable(username: str = USERNAME) -> None:
    """Enables a disabled account again."""
    _set_active(username, True)


@app.command("unlock")
def staff_unlock(username: str = USERNAME) -> None:
    """Lifts a lockout after too many failed sign-ins."""

    async def work(session: AsyncSession, _: str) -> str:
        user = await staff.staff_by_username(session, username)
        await staff.unlock(session, events=cli_events(), staff_id=user.id, version=None)
        return f"{username} is unlocked"

    say(do(work))


@app.command("reset-password")
def staff_reset_password(username: str = USERNAME) -> None:
    """Replaces the password with a one-time password, printed once."""

    async def work(session: AsyncSession, _: str) -> tuple[str, str]:
        user = await staff.staff_by_username(session, username)
        reset = await staff.reset_password(
            session, events=cli_events(), staff_id=user.id, version=None
        )
        return username, reset[1]

    show_password(*do(work))


@app.command("list")
def staff_list() -> None:
    """Lists the staff accounts with their sign-in state."""

    async def work(session: AsyncSession, _: str) -> list[tuple[str, ...]]:
        rows = await session.scalars(select(StaffUser).order_by(col(StaffUser.username)))
        return [
            (
                row.username,
                row.role,
                "active" if row.is_active else "disabled",
                "yes" if row.must_change_password else "no",
                f"{row.locked_until:%Y-%m-%d %H:%M}" if row.locked_until else "-",
            )
            for row in rows
        ]

    table = Table("username", "role", "state", "one-time password", "locked until")
    for row in do(work):
        table.add_row(*row)
    console.print(table)
