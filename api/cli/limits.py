"""``cardcrm limits revert``: ends every temporary credit limit whose last day has passed.

Run it once a day after midnight (cron, see the README): it is idempotent, so a missed day is
caught up by the next run, and a run twice the same day finds nothing left to end.
"""

from __future__ import annotations

from datetime import date

import typer

from api.cli.common import console, fail, run, started
from api.cli.evaluate import CLI_ACTOR, cli_event
from auth import audit
from resolvers.cards.limit_changes import REVERT_ACTION, RevertSummary, revert_ended_limits
from resolvers.cards.limits import today

app = typer.Typer(help="Credit limits: end temporary limits.", no_args_is_help=True)


def _as_of(text: str | None) -> date:
    if text is None:
        return today()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"--as-of {text!r} is not an ISO date, e.g. 2026-06-30") from exc


@app.command("revert")
def revert(
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="End the temporary limits whose last day is before this ISO date; default today "
        "(UTC).",
    ),
) -> None:
    """Sets every card whose temporary limit ended back to its earlier limit (set-based, one
    transaction, audited with the counts)."""
    day = _as_of(as_of)

    async def work() -> RevertSummary:
        async with started() as state, state.database.session() as session:
            summary = await revert_ended_limits(
                session, as_of=day, actor_kind="system", actor_id=CLI_ACTOR
            )
            await audit.record_and_commit(
                session,
                cli_event(
                    REVERT_ACTION,
                    target_type="Card",
                    details={
                        "asOf": day.isoformat(),
                        "reverted": summary.reverted,
                        "lowered": summary.lowered,
                    },
                ),
            )
            return summary

    summary = run(work)
    console.print(
        f"ended {summary.reverted} temporary credit limits before {summary.as_of.isoformat()} "
        f"({summary.lowered} lowered, the others were already lower)"
    )
