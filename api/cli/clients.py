"""``cardcrm clients``: OAuth clients of partner merchants and service accounts; and
``cardcrm merchants``, the partner merchants those clients speak for.

A new client's secret is printed once, when it is created, and never again: only its argon2id
hash is stored. Revoking a client stops its tokens at the next request they make.
"""

from __future__ import annotations

import getpass

import typer
from rich.table import Table

from api.cli.common import console, fail, run, started
from auth import clients as service
from auth import revocation
from auth.scopes import parse_scopes
from core.errors import DomainError
from models.transactions.transaction import MerchantCategory
from resolvers.admin import merchants as merchant_admin
from resolvers.admin.common import cli_events

app = typer.Typer(help="OAuth clients (partner merchants, service accounts).", no_args_is_help=True)
merchants_app = typer.Typer(help="Partner merchants.", no_args_is_help=True)


def _actor() -> service.Actor:
    return service.Actor(kind="cli", id=getpass.getuser())


@app.command()
def create(
    scopes: str = typer.Option(..., "--scopes", help='Space-separated, e.g. "offers:read".'),
    merchant: str | None = typer.Option(
        None, "--merchant", help="The merchant's id or exact name (a merchant client)."
    ),
    service_account: bool = typer.Option(
        False, "--service", help="A service account (batch jobs) instead of a merchant."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Display name; default: the merchant's name."
    ),
) -> None:
    """Creates a client and prints its id and secret, once."""
    if (merchant is None) == (not service_account):
        raise fail("pass exactly one of --merchant NAME_OR_ID or --service")
    try:
        wanted = parse_scopes(scopes)
    except ValueError as exc:
        raise fail(str(exc)) from exc

    async def work() -> service.Credentials:
        async with started() as state, state.database.session() as session:
            owner = await service.find_merchant(session, merchant) if merchant else None
            return await service.create_client(
                session, actor=_actor(), scopes=wanted, merchant=owner, name=name
            )

    try:
        credentials = run(work)
    except DomainError as exc:
        raise fail(exc.message) from exc
    client = credentials.client
    console.print(f"client_id:     {client.client_id}", markup=False, highlight=False)
    console.print(f"client_secret: {credentials.client_secret}", markup=False, highlight=False)
    console.print(f"scopes:        {client.allowed_scopes}", markup=False, highlight=False)
    console.print("Store the secret now: it is not shown again and cannot be recovered.")


@app.command("list")
def list_command() -> None:
    """Lists the clients (never their secrets)."""

    async def work() -> list[tuple[str, ...]]:
        async with started() as state, state.database.session() as session:
            return [
                (
                    client.client_id,
                    client.name,
                    client.kind,
                    owner.name if owner else "-",
                    client.allowed_scopes,
                    f"{client.created_at:%Y-%m-%d %H:%M}",
                    f"{client.revoked_at:%Y-%m-%d %H:%M}" if client.revoked_at else "-",
                )
                for client, owner in await service.list_clients(session)
            ]

    table = Table("client_id", "name", "kind", "merchant", "scopes", "created", "revoked")
    for row in run(work):
        table.add_row(*row)
    console.print(table)


@app.command()
def revoke(client_id: str = typer.Argument(..., help="The client to revoke.")) -> None:
    """Revokes a client: it gets no new tokens and its live tokens stop working now."""

    async def work() -> None:
        async with started() as state, state.database.session() as session:
            await service.revoke_client(session, actor=_actor(), client_id=client_id)

    try:
        run(work)
    except DomainError as exc:
        raise fail(exc.message) from exc
    console.print(f"revoked {client_id}: its tokens stop working now", markup=False)


@app.command("purge-revoked-tokens")
def purge_revoked_tokens() -> None:
    """Deletes the revocation records of tokens that have expired anyway."""

    async def work() -> int:
        async with started() as state, state.database.session() as session:
            return await revocation.purge_expired(session)

    console.print(f"purged {run(work)} expired revocation record(s)")


@merchants_app.command("create")
def create_merchant(
    name: str = typer.Argument(..., help="The partner's name."),
    category: MerchantCategory = typer.Option(MerchantCategory.OTHER, "--category"),
) -> None:
    """Adds a partner merchant (audited) and prints its id."""

    async def work() -> str:
        async with started() as state, state.database.session() as session:
            merchant = await merchant_admin.create_merchant(
                session, events=cli_events(), name=name, category=category
            )
            return str(merchant.id)

    try:
        merchant_id = run(work)
    except DomainError as exc:
        raise fail(exc.message) from exc
    console.print(f"merchant {merchant_id}", markup=False, highlight=False)


def _set_merchant_active(name_or_id: str, active: bool) -> None:
    async def work() -> None:
        async with started() as state, state.database.session() as session:
            merchant = await service.find_merchant(session, name_or_id)
            await merchant_admin.set_active(
                session, events=cli_events(), merchant_id=merchant.id, version=None, active=active
            )

    try:
        run(work)
    except DomainError as exc:
        raise fail(exc.message) from exc
    state = "enabled" if active else "disabled; its clients are revoked"
    console.print(f"merchant {name_or_id} {state}", markup=False, highlight=False)


@merchants_app.command("disable")
def disable_merchant(
    merchant: str = typer.Argument(..., help="The merchant's id or exact name."),
) -> None:
    """Disables a merchant: its clients are revoked now and it gets no new ones (audited)."""
    _set_merchant_active(merchant, False)


@merchants_app.command("enable")
def enable_merchant(
    merchant: str = typer.Argument(..., help="The merchant's id or exact name."),
) -> None:
    """Enables a disabled merchant (its revoked clients stay revoked; audited)."""
    _set_merchant_active(merchant, True)


@merchants_app.command("list")
def list_merchants() -> None:
    """Lists the partner merchants."""

    async def work() -> list[tuple[str, ...]]:
        async with started() as state, state.database.session() as session:
            return [
                (str(row.id), row.name, row.category, "active" if row.is_active else "disabled")
                for row in await merchant_admin.list_merchants(session)
            ]

    table = Table("id", "name", "category", "state")
    for row in run(work):
        table.add_row(*row)
    console.print(table)
