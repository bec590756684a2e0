"""``cardcrm import``: bulk imports (``import`` is a keyword, hence the module's name)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.progress import Progress

from api.cli import import_customers
from api.cli.common import console, fail, run, settings, started
from resolvers.batch_effects import batch_effect
from resolvers.risk.alert_events import publish_raised
from resolvers.transactions.files import CountingLines, FileFormat, TransactionFileError, file_rows
from resolvers.transactions.ingest import DEFAULT_MAX_ERRORS, ImportSummary, import_transactions
from resolvers.transactions.rows import RawRow

app = typer.Typer(help="Bulk imports.", no_args_is_help=True)
app.command("customers")(import_customers.customers_command)


def report(summary: ImportSummary, lines: int) -> None:
    """The counts, then the first bad rows by line. Every line is the header, a blank line
    or a row (see resolvers/transaction_files), so ``lines`` is the file's line count."""
    console.print(
        f"read {summary.read:,} rows from {lines:,} lines: {summary.imported:,} imported, "
        f"{summary.duplicates:,} already present, {summary.rejected:,} rejected"
    )
    if not summary.rejected:
        return
    console.print("rejected rows:")
    for problem in summary.errors:
        console.print(f"  line {problem.position}: {problem.reason}", markup=False)
    if summary.errors_not_shown:
        console.print(f"  … and {summary.errors_not_shown:,} more")


@app.command("transactions")
def transactions_command(
    file: Path = typer.Argument(..., help="CSV with a header row, or JSON Lines."),
    file_format: FileFormat | None = typer.Option(
        None, "--format", help="Default: from the extension (.csv, .jsonl)."
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, help="Rows per committed batch; default from settings."
    ),
    max_errors: int = typer.Option(
        DEFAULT_MAX_ERRORS, "--max-errors", min=0, help="Bad rows listed in the summary."
    ),
) -> None:
    """Imports card transactions; bad rows are listed, re-running imports nothing twice."""
    try:
        chosen = file_format or FileFormat.of(file)
        size = file.stat().st_size
        stream = file.open("rb")
    except (OSError, TransactionFileError) as exc:
        raise fail(f"cannot import {file}: {getattr(exc, 'strerror', None) or exc}") from exc
    batch_rows = batch_size or settings().import_batch_rows
    lines = CountingLines(stream)

    async def work(rows: Iterator[RawRow]) -> ImportSummary:
        async with started() as state:
            with Progress(console=console) as progress:
                task = progress.add_task("importing", total=size)

                def advance(summary: ImportSummary) -> None:
                    progress.update(
                        task,
                        completed=lines.bytes_read,
                        description=f"importing: {summary.read:,} rows",
                    )

                raised_alerts: list[uuid.UUID] = []
                summary = await import_transactions(
                    database=state.database,
                    ring=state.key_ring,
                    rows=rows,
                    batch_rows=batch_rows,
                    max_errors=max_errors,
                    on_batch=advance,
                    effect=batch_effect(state.settings, raised_alerts),
                )
                # Every batch has committed: the risk officers' live queue hears of its alerts.
                await publish_raised(state.broker, raised_alerts)
                return summary

    with stream:
        try:
            rows = file_rows(lines, chosen)  # a CSV header is checked here, before connecting
            summary = run(lambda: work(rows))
        except (OSError, TransactionFileError) as exc:
            raise fail(f"cannot import {file}: {exc}") from exc
    report(summary, lines.lines_read)
