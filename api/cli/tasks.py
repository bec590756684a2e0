"""``cardcrm tasks``: the staff task queue's daily job.

- ``generate --as-of DATE``: the day's follow-ups, care, retention, reactivation and
  repayment-reminder calls (resolvers/tasks/generation.py), assigned to the branches'
  agents; one transaction and one audit entry, then ``taskAssigned`` is told. A second run
  of the same day writes nothing.
"""

from __future__ import annotations

import typer

from api.cli.common import console, run, started
from api.cli.evaluate import cli_event
from api.cli.statements import parse_day
from auth import audit
from resolvers.tasks.events import publish_assigned
from resolvers.tasks.generation import GENERATE_ACTION, GenerateSummary, generate

app = typer.Typer(help="Staff tasks: the agents' daily work queue.", no_args_is_help=True)

AS_OF = "The bank's local day (ISO date, e.g. 2026-06-15)."


@app.command("generate")
def generate_command(as_of: str = typer.Option(..., "--as-of", help=AS_OF)) -> None:
    """Generates the day's staff tasks (idempotent) and prints how many of each kind."""
    day = parse_day(as_of)

    async def work() -> GenerateSummary:
        async with started() as state, state.database.session() as session:
            summary = await generate(session, state.settings, state.key_ring, day)
            await audit.record_and_commit(
                session,
                cli_event(GENERATE_ACTION, target_type="StaffTask", details=summary.details()),
            )
            await publish_assigned(state.broker, summary.touched)
            return summary

    for line in run(work).lines():
        console.print(line, soft_wrap=True)
