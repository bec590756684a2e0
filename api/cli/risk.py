"""``cardcrm risk scan``: the fraud and risk alert rules over a range of booked purchases.

Every imported batch runs the rules already; this is the backfill (transactions imported
before the rules, or thresholds changed) and what the benchmark times. Alerts already raised
are never raised twice, so it can be run again over the same range.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import typer

from api.cli.common import console, fail, run, started
from api.cli.evaluate import cli_event
from auth import audit
from resolvers.risk.rules_scan import ScanSummary, scan

app = typer.Typer(help="Fraud and risk alerts: run the rules over a range.", no_args_is_help=True)
SCAN_ACTION = "risk.scan"


def _instant(option: str, text: str | None) -> datetime | None:
    """An ISO instant with a UTC offset, or a date meaning its first instant in UTC."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"{option} {text!r} is not an ISO date or time, e.g. 2026-05-01") from exc
    if value.tzinfo is None:
        raise fail(f"{option} needs a UTC offset, e.g. 2026-05-01T00:00:00+08:00 or ...Z")
    return value


@app.command("scan")
def scan_command(
    since: str = typer.Option(
        ..., "--since", help="From this ISO instant (with its offset) or date (UTC), included."
    ),
    until: str | None = typer.Option(
        None, "--until", help="Up to this ISO instant or date, excluded; default: everything."
    ),
) -> None:
    """Runs the alert rules over the purchases booked in the range, in committed chunks;
    new alerts are published to riskAlertRaised; audited with the counts."""
    start = _instant("--since", since)
    end = _instant("--until", until)
    assert start is not None
    if end is not None and end <= start:
        raise fail("--until must be after --since")

    async def work() -> ScanSummary:
        async with started() as state:
            summary = await scan(
                database=state.database,
                settings=state.settings,
                since=start,
                until=end,
                broker=state.broker,
            )
            async with state.database.session() as session:
                await audit.record_and_commit(
                    session,
                    cli_event(
                        SCAN_ACTION,
                        target_type="RiskAlert",
                        details={
                            "since": start.isoformat(),
                            "until": end.isoformat() if end else None,
                            "checked": summary.checked,
                            "raised": summary.raised,
                        },
                    ),
                )
            return summary

    summary = run(work)
    console.print(
        f"checked {summary.checked:,} purchases in {summary.chunks} chunks: "
        f"{summary.raised:,} new alerts"
    )
