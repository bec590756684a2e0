"""``cardcrm statements close --as-of DATE``: the day's card statements and every card's
overdue standing (resolvers/cards/statements.py), then the collection cases that standing
opens, updates and closes (resolvers/collections/sync.py), in one transaction, audited as one
entry per run."""

from __future__ import annotations

from datetime import date

import typer

from api.cli.common import console, fail, run, started
from api.cli.evaluate import cli_event
from auth import audit
from resolvers.cards.statements import CLOSE_ACTION
from resolvers.day_close import DayClosed, close_day

app = typer.Typer(help="Card statements: close a day's cycles.", no_args_is_help=True)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"--as-of {text!r} is not an ISO date, e.g. 2026-06-15") from exc


@app.command("close")
def close(
    as_of: str = typer.Option(
        ...,
        "--as-of",
        help="The statement date (the bank's local day): cards with this day of the month close.",
    ),
) -> None:
    """Closes the statements of every card whose statement day is the as-of date's day,
    updates every card's days past due and overdue bucket, and opens, updates and closes the
    collection cases it gives; closing a day twice adds nothing."""
    day = parse_day(as_of)

    async def work() -> DayClosed:
        async with started() as state, state.database.session() as session:
            closed = await close_day(session, state.settings, day)
            await audit.record_and_commit(
                session, cli_event(CLOSE_ACTION, target_type="Card", details=closed.details())
            )
            return closed

    closed = run(work)
    console.print(closed.statements.line(), soft_wrap=True)
    console.print(closed.cases.line(), soft_wrap=True)
