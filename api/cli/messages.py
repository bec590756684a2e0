"""``cardcrm messages send``: delivers the queued outbound messages that are due through the
configured sender (``CARDCRM_MESSAGE_SENDER``: development or http), cancelling those whose
customer withdrew consent (resolvers/outreach/delivery.py); audited as one entry per run."""

from __future__ import annotations

import typer

from api.cli.common import console, run, started
from api.cli.evaluate import cli_event
from auth import audit
from resolvers.outreach.delivery import Sent, send_due_messages
from resolvers.outreach.senders_choice import sender_for

SEND_ACTION = "messages.send"
app = typer.Typer(help="Outbound messages: deliver the due ones.", no_args_is_help=True)


@app.command("send")
def send() -> None:
    """Delivers every queued message whose send_after has passed, in chunks."""

    async def work() -> Sent:
        async with started() as state, state.database.session() as session:
            sender = sender_for(state.settings)
            try:
                done = await send_due_messages(
                    session, ring=state.key_ring, settings=state.settings, sender=sender
                )
            finally:
                await sender.close()
            details = {
                "sender": sender.name,
                "sent": done.sent,
                "failed": done.failed,
                "cancelled": done.cancelled,
            }
            await audit.record_and_commit(
                session, cli_event(SEND_ACTION, target_type="OutboundMessage", details=details)
            )
            return done

    done = run(work)
    console.print(
        f"messages sent {done.sent:,}, failed {done.failed:,}, cancelled {done.cancelled:,}"
    )
