"""``cardcrm collections``: the daily collection jobs, each one transaction and one audit entry.

- ``sweep --as-of DATE``: keeps the collection cases in step with the cards' standing as of
  the bank's local day (opens, updates, cures, closes with the card) and reopens the cases
  whose promise to pay was broken (resolvers/collections/sync.py). ``statements close`` runs
  the same after each close; run ``sweep`` on the other days for the promises.
- ``remind --as-of DATE``: plans the day's repayment reminders and cancels those already paid
  (resolvers/collections/reminders.py); planning a day twice writes nothing.
"""

from __future__ import annotations

import typer

from api.cli.common import console, run, started
from api.cli.evaluate import cli_event
from api.cli.statements import parse_day
from auth import audit
from resolvers.collections.reminders import REMIND_ACTION, RemindSummary, remind
from resolvers.collections.sync import SWEEP_ACTION, SyncSummary, sweep

app = typer.Typer(
    help="Collections: cases, promises and repayment reminders.", no_args_is_help=True
)

AS_OF = "The bank's local day (ISO date, e.g. 2026-06-15)."


@app.command("sweep")
def sweep_command(as_of: str = typer.Option(..., "--as-of", help=AS_OF)) -> None:
    """Opens, updates and closes collection cases from the cards' standing, and reopens the
    cases whose promise date passed unkept (broken promises), as of the day."""
    day = parse_day(as_of)

    async def work() -> SyncSummary:
        async with started() as state, state.database.session() as session:
            summary = await sweep(session, state.settings, day)
            details = {"as_of": day.isoformat(), **summary.details()}
            await audit.record_and_commit(
                session, cli_event(SWEEP_ACTION, target_type="CollectionCase", details=details)
            )
            return summary

    console.print(run(work).line(), soft_wrap=True)


@app.command("remind")
def remind_command(as_of: str = typer.Option(..., "--as-of", help=AS_OF)) -> None:
    """Plans the repayment reminders due on the day (by risk grade, for consenting customers)
    and cancels the planned ones whose minimum payment is paid; idempotent."""
    day = parse_day(as_of)

    async def work() -> RemindSummary:
        async with started() as state, state.database.session() as session:
            summary = await remind(session, state.settings, day)
            await audit.record_and_commit(
                session,
                cli_event(
                    REMIND_ACTION, target_type="RepaymentReminder", details=summary.details()
                ),
            )
            return summary

    console.print(run(work).line(), soft_wrap=True)
