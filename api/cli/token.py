"""``cardcrm token``: access tokens for development and for the bank's app-login stand-in."""

from __future__ import annotations

import uuid

import typer
from sqlmodel import select

from api.cli.common import console, fail, run, started
from auth.login import CONSOLE_CLIENT_ID
from auth.scopes import parse_scopes
from core.identity import Role
from models.customers.customer import Customer
from models.organisation.organisation import StaffUser
from schema.relay import from_global_id

app = typer.Typer(help="Access tokens.", no_args_is_help=True)
MOBILE_CLIENT_ID = "cardcrm-mobile"


def _customer_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        type_name, raw = from_global_id(value)
        if type_name != "Customer":
            raise
        return uuid.UUID(raw)


@app.command()
def issue(
    user: str | None = typer.Option(None, "--user", help="Staff username."),
    customer: str | None = typer.Option(
        None, "--customer", help="Customer id (UUID or global ID)."
    ),
    scopes: str | None = typer.Option(
        None, "--scopes", help="Space-separated; default: the role's."
    ),
    ttl: int | None = typer.Option(None, "--ttl", min=1, help="Lifetime in seconds."),
) -> None:
    """Prints an access token for a staff user or a customer."""
    if (user is None) == (customer is None):
        raise fail("pass exactly one of --user or --customer")
    try:
        wanted = parse_scopes(scopes) if scopes is not None else None
        customer_id = _customer_uuid(customer) if customer is not None else None
    except ValueError as exc:
        raise fail(str(exc)) from exc

    async def work() -> str | None:
        async with started() as state, state.database.session() as session:
            limit = state.settings.customer_token_max_ttl_seconds
            if customer_id is not None:
                if await session.get(Customer, customer_id) is None:
                    return None
                return state.tokens.issue(
                    subject=str(customer_id),
                    role=Role.CUSTOMER,
                    client_id=MOBILE_CLIENT_ID,
                    scopes=wanted,
                    ttl=min(ttl or limit, limit),
                )
            staff = await session.scalar(select(StaffUser).where(StaffUser.username == user))
            if staff is None or not staff.is_active:
                return None
            return state.tokens.issue(
                subject=str(staff.id),
                role=Role(staff.role),
                client_id=CONSOLE_CLIENT_ID,
                scopes=wanted,
                branch_id=staff.branch_id,
                username=staff.username,
                ttl=ttl,
            )

    token = run(work)
    if token is None:
        raise fail("no such active user or customer")
    console.print(token, soft_wrap=True)
