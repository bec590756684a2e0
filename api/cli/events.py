"""``cardcrm events deliver [--once]``: the webhook delivery worker (resolvers/events/delivery.py)
and ``cardcrm events dead-letters``: what the subscriptions gave up on."""

from __future__ import annotations

import typer
from sqlmodel import col, select

from api.cli.common import console, run, started, stop_on_signals
from models.events.outbox import WebhookDeadLetter
from resolvers.events.delivery import Worker

app = typer.Typer(
    help="Events out: deliver the outbox to webhook subscriptions.", no_args_is_help=True
)


@app.command("deliver")
def deliver(
    once: bool = typer.Option(
        False, "--once", help="Drain: deliver until every subscription is through, then exit."
    ),
) -> None:
    """Posts the outbox's events to the webhook subscriptions, signed, in order per
    subscription; several workers may run at once (each subscription is leased to one).
    Without --once it runs until SIGTERM or Ctrl-C."""

    async def work() -> tuple[int, int, int]:
        async with started() as state:
            stop = stop_on_signals()
            worker = Worker(state.database, lambda: state.key_ring, state.settings)
            tally = await worker.run(once=once, stop=stop)
            return tally.delivered, tally.failed, tally.dead

    delivered, failed, dead = run(work)
    console.print(f"delivered {delivered} events; {failed} failed attempts; {dead} dead letters")


@app.command("dead-letters")
def dead_letters(limit: int = typer.Option(50, help="How many, newest first.")) -> None:
    """The events the subscriptions gave up on, newest first."""

    async def work() -> list[WebhookDeadLetter]:
        async with started() as state, state.database.session() as session:
            rows = await session.scalars(
                select(WebhookDeadLetter)
                .order_by(col(WebhookDeadLetter.created_at).desc())
                .limit(limit)
            )
            return list(rows)

    for row in run(work):
        console.print(
            f"{row.created_at.isoformat()} subscription {row.subscription_id} event "
            f"{row.event_id} after {row.attempts} attempts: {row.last_error}"
        )
