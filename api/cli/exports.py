"""``cardcrm privacy exports [--once]``: the data export job (resolvers/privacy/export_job.py).

It produces every pending export (the customer's document, sealed under their own key) and
drops the documents of ready exports that ran out; every produced and expired export is
audited as the system. Without --once it looks again every ``privacy_export_poll_seconds``
until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib

import typer

from api.cli.common import console, run, started, stop_on_signals
from api.cli.evaluate import cli_event
from resolvers.privacy.export_job import JobTally, produce_pending

app = typer.Typer(help="Privacy rights: the data export job.", no_args_is_help=True)


@app.command("exports")
def exports(
    once: bool = typer.Option(
        False, "--once", help="One pass: produce the pending exports, expire, then exit."
    ),
) -> None:
    """Produces the pending data exports and expires the run-out ones."""

    async def work() -> JobTally:
        total = JobTally()
        async with started() as state:
            stop = stop_on_signals()
            while True:
                async with state.database.session() as session:
                    tally = await produce_pending(
                        session,
                        ring=state.key_ring,
                        settings=state.settings,
                        job_event=cli_event,
                    )
                total.produced += tally.produced
                total.expired += tally.expired
                total.failed += tally.failed
                if once:
                    return total
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), state.settings.privacy_export_poll_seconds)
                if stop.is_set():
                    return total

    total = run(work)
    console.print(
        f"exports produced {total.produced:,}, expired {total.expired:,}, failed {total.failed:,}"
    )
    if total.failed:
        raise typer.Exit(code=1)
