"""``cardcrm retention run [--as-of DATE]``: erases every customer whose relationship ended
more than ``CARDCRM_PRIVACY_RETENTION_YEARS`` years before (resolvers/privacy/retention.py),
each erasure audited with the system as the actor, then one entry for the run."""

from __future__ import annotations

import typer

from api.cli.common import console, run, started
from api.cli.evaluate import cli_event, parse_as_of
from auth import audit
from models.columns import utcnow
from resolvers.privacy.retention import run_retention

RUN_ACTION = "privacy.retention_run"

app = typer.Typer(help="Privacy: erase what the retention period releases.", no_args_is_help=True)


@app.command("run")
def run_command(
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Count the retention period back from this day or instant (ISO 8601); now when "
        "not given.",
    ),
) -> None:
    """Erases every customer not erased yet who owes nothing, has nothing disputed, and whose
    relationship ended (last card closed, last transaction) more than the retention period
    before (with no card ever: who was created before it); a second run erases nothing more."""
    moment = parse_as_of(as_of) or utcnow()

    async def work() -> int:
        async with started() as state, state.database.session() as session:
            years = state.settings.privacy_retention_years
            erased = await run_retention(
                session, state.key_ring, retention_years=years, as_of=moment, audit_event=cli_event
            )
            details = {"as_of": moment.isoformat(), "years": years, "erased": erased}
            await audit.record_and_commit(
                session, cli_event(RUN_ACTION, target_type="Customer", details=details)
            )
            return erased

    erased = run(work)
    when = moment.isoformat()
    console.print(f"erased {erased:,} customers past the retention period as of {when}")
