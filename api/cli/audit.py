"""``cardcrm audit``: check the audit log's hash chain."""

from __future__ import annotations

import typer

from api.cli.common import console, errors, run, started
from auth import audit as audit_log

app = typer.Typer(help="The audit log.", no_args_is_help=True)


@app.command()
def verify() -> None:
    """Recomputes the hash chain; exits 1 if any entry was altered, removed or reordered."""

    async def work() -> audit_log.VerifyReport:
        async with started() as state, state.database.session() as session:
            return await audit_log.verify(session)

    report = run(work)
    if not report.ok:
        for problem in report.problems:
            errors.print(f"[red]{problem}[/]")
        errors.print(
            f"audit log BROKEN: {len(report.problems)} problem(s) in {report.entries} entries"
        )
        raise typer.Exit(code=1)
    console.print(f"audit log intact: {report.entries} entries, head {report.head_hash}")
