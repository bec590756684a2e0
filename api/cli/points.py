"""``cardcrm points expire --as-of DATE``: posts the expire entries of the points ledger
(resolvers/loyalty/expiry.py), audited as one entry per run."""

from __future__ import annotations

import typer

from api.cli.common import console, run, started
from api.cli.evaluate import cli_event
from api.cli.statements import parse_day
from auth import audit
from resolvers.loyalty.expiry import EXPIRE_ACTION, expire_points

app = typer.Typer(help="Points: expire what has run out.", no_args_is_help=True)


@app.command("expire")
def expire(
    as_of: str = typer.Option(
        ...,
        "--as-of",
        help="The day (the bank's local day): points whose validity ended before it expire.",
    ),
) -> None:
    """Posts an expire entry for every customer with unspent points whose validity ended
    before the as-of date (oldest points spent first); running a day twice adds nothing."""
    day = parse_day(as_of)

    async def work() -> int:
        async with started() as state, state.database.session() as session:
            posted = await expire_points(session, as_of=day, settings=state.settings)
            details = {"as_of": day.isoformat(), "customers": posted}
            await audit.record_and_commit(
                session, cli_event(EXPIRE_ACTION, target_type="Customer", details=details)
            )
            return posted

    posted = run(work)
    console.print(f"points expired for {posted:,} customers as of {day.isoformat()}")
