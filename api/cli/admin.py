"""``cardcrm init`` (the first admin of an empty database) and ``cardcrm admin``: branches,
staff accounts and the tier catalogue, by the same functions as the GraphQL mutations
(``resolvers.admin``), audited as the operator's OS user.

A one-time password is printed once, when it is made; the person replaces it at their first
sign-in (``POST /auth/password``). The commands act on the current row (no ``version``).
"""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from api.cli import admin_staff, admin_tiers
from api.cli.admin_support import do, say, show_password
from api.cli.common import console
from resolvers.admin import branches, staff
from resolvers.admin.common import cli_events

app = typer.Typer(help="Branches, staff accounts and the tier catalogue.", no_args_is_help=True)
branch_app = typer.Typer(help="Branches.", no_args_is_help=True)
app.add_typer(branch_app, name="branch")
app.add_typer(admin_staff.app, name="staff")
app.add_typer(admin_tiers.app, name="tier")


def init(
    username: str = typer.Option("admin", "--username", help="The first admin's username."),
) -> None:
    """Creates the first admin of an empty database and prints a one-time password."""

    async def work(session: AsyncSession, _: str) -> tuple[str, str]:
        user, password = await staff.create_first_admin(
            session, events=cli_events(), username=username
        )
        return user.username, password

    show_password(*do(work))


@branch_app.command("create")
def branch_create(
    code: str = typer.Argument(..., help="Its code, as the bank's sign-in names it."),
    name: str = typer.Option(..., "--name", help="Its display name."),
) -> None:
    """Creates a branch."""

    async def work(session: AsyncSession, _: str) -> str:
        row = await branches.create_branch(session, events=cli_events(), code=code, name=name)
        return f"branch {row.code} ({row.id})"

    say(do(work))


@branch_app.command("update")
def branch_update(
    code: str = typer.Argument(..., help="The branch's code."),
    name: str = typer.Option(..., "--name", help="Its new display name."),
) -> None:
    """Renames a branch."""

    async def work(session: AsyncSession, _: str) -> str:
        found = await branches.branch_by_code(session, code)
        row = await branches.rename_branch(
            session, events=cli_events(), branch_id=found.id, version=None, name=name
        )
        return f"branch {row.code} is now {row.name!r} (version {row.version})"

    say(do(work))


@branch_app.command("list")
def branch_list() -> None:
    """Lists the branches."""

    async def work(session: AsyncSession, _: str) -> list[tuple[str, str, str]]:
        rows = await branches.list_branches(session)
        return [(row.code, row.name, str(row.version)) for row in rows]

    table = Table("code", "name", "version")
    for row in do(work):
        table.add_row(*row)
    console.print(table)
