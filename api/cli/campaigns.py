"""``cardcrm campaigns run``: launches the scheduled campaigns whose time has come
(resolvers/outreach/schedule.py), each in its own transaction and audited as its launch."""

from __future__ import annotations

import typer

from api.cli.common import console, run, started
from api.cli.evaluate import cli_event
from models.columns import utcnow
from resolvers.outreach.launch import Launched
from resolvers.outreach.schedule import due_campaigns, launch_scheduled

app = typer.Typer(help="Campaigns: launch the scheduled ones that are due.", no_args_is_help=True)


@app.command("run")
def run_due() -> None:
    """Launches every scheduled campaign whose scheduledAt has passed, as the staff member
    who created it; one that cannot launch (its author left, its segment is gone) stays
    scheduled and is named with the reason."""

    async def work() -> list[str]:
        lines: list[str] = []
        async with started() as state:
            async with state.database.session() as session:
                due = await due_campaigns(session, utcnow())
            for campaign_id in due:
                async with state.database.session() as session:
                    done = await launch_scheduled(
                        session=session,
                        campaign_id=campaign_id,
                        settings=state.settings,
                        audit_event=cli_event,
                    )
                if isinstance(done, Launched):
                    lines.append(
                        f"launched {done.campaign.name}: audience {done.audience:,}, control "
                        f"{done.control:,}, messaged {done.messaged:,}, no consent "
                        f"{done.no_consent:,}"
                    )
                else:
                    lines.append(f"not launched {campaign_id}: {done}")
        return lines

    lines = run(work)
    for line in lines:
        console.print(line, soft_wrap=True)
    console.print(f"{sum(line.startswith('launched') for line in lines)} campaigns launched")
