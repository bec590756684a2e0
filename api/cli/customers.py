"""``cardcrm customers``: maintenance of customer records."""

from __future__ import annotations

import typer

from api.cli.common import console, run, started
from resolvers.customers.lookups import index_birthdays, index_names

app = typer.Typer(help="Customer records.", no_args_is_help=True)


@app.command("index-names")
def index_names_command(
    batch_size: int = typer.Option(500, min=1, help="Rows per transaction."),
) -> None:
    """Indexes the names of customers created before `customersByName` existed (run once
    after `cardcrm db upgrade` to 0006_name_index; safe to interrupt and run again)."""

    async def work() -> int:
        async with started() as state, state.database.session() as session:
            return await index_names(session, state.key_ring, batch_size=batch_size)

    console.print(f"indexed the names of {run(work)} customers")


@app.command("index-birthdays")
def index_birthdays_command(
    batch_size: int = typer.Option(500, min=1, help="Rows per transaction."),
) -> None:
    """Indexes the birthdays ("MM-DD") of customers created before the birthday care existed
    (run once after `cardcrm db upgrade` to 0013_outreach; safe to interrupt and run again)."""

    async def work() -> int:
        async with started() as state, state.database.session() as session:
            return await index_birthdays(session, state.key_ring, batch_size=batch_size)

    console.print(f"indexed the birthdays of {run(work)} customers")
