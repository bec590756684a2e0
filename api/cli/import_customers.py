"""``cardcrm import customers FILE``: onboarding a bank's customers and their cards in bulk."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from api.cli.common import console, fail, run, settings, started
from api.cli.evaluate import cli_event
from resolvers.customers.bulk_import import (
    DEFAULT_MAX_ERRORS,
    CustomerImportSummary,
    RowProblem,
    import_customers,
)
from resolvers.customers.import_file import customer_rows
from resolvers.transactions.files import CountingLines, FileFormat, TransactionFileError
from resolvers.transactions.rows import RawRow

HELP = """Imports customers with their cards from CSV (a header row) or JSON Lines, one
customer a line, checked like createCustomer (national ID check digit and birth date, Luhn,
phone, e-mail; a national ID or card number registered to someone else refuses the line),
sealed and blind-indexed like it. Idempotent on customer_number: a line whose number is
registered already is counted as already present and changes nothing.

Bad lines are listed by line number with the reason (all of them go to --rejects: line and \
reason only, never a value), and the rest of the file goes on. Exit code 0 when the file was \
read to its end, whatever its bad lines; 1 only when the file cannot be imported at all \
(missing, unreadable, unknown format, no usable CSV header) or the database cannot be used.

\b
CSV columns (header names, any order):
  required: customer_number, name, birth_date (YYYY-MM-DD),
    id_number, phone, branch_code
  optional: gender (male|female|undisclosed), email, address,
    tier_code (default standard), tags (;-separated),
    consent_sms, consent_email, consent_push, consent_phone
    (true/false), do_not_disturb_start, do_not_disturb_end
    (HH:MM), preferred_channel
  cards: card1_pan, card1_credit_limit, card1_product
    (optional), then card2_pan, ...; a blank cardN_pan is no card

\b
JSON Lines: one object a line with the same names; tags a list,
  consent an object {sms, email, push, phone,
  do_not_disturb_start, do_not_disturb_end, preferred_channel},
  cards a list of {pan, credit_limit, product}."""


def report(summary: CustomerImportSummary, lines: int) -> None:
    """The counts, then the first refused lines with their reasons."""
    console.print(
        f"read {summary.read:,} customers from {lines:,} lines: {summary.imported:,} imported "
        f"with {summary.cards:,} cards, {summary.present:,} already present, "
        f"{summary.rejected:,} rejected"
    )
    if not summary.rejected:
        return
    console.print("rejected lines:")
    for problem in summary.errors:
        console.print(f"  line {problem.line}: {problem.reason}", markup=False)
    if summary.errors_not_shown:
        console.print(f"  … and {summary.errors_not_shown:,} more")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _rejects_writer(stream: TextIO | None) -> Any:
    writer = None if stream is None else csv.writer(stream)
    if writer is not None:
        writer.writerow(["line", "reason"])
    return writer


def customers_command(
    file: Path = typer.Argument(..., help="CSV with a header row (.csv), or JSON Lines (.jsonl)."),
    file_format: FileFormat | None = typer.Option(
        None, "--format", help="Default: from the extension (.csv, .jsonl, .ndjson)."
    ),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", min=1, help="Customers per committed chunk; default from settings."
    ),
    max_errors: int = typer.Option(
        DEFAULT_MAX_ERRORS, "--max-errors", min=0, help="Rejected lines listed in the summary."
    ),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="Write every rejected line's number and reason to this CSV."
    ),
) -> None:
    try:
        chosen = file_format or FileFormat.of(file)
        size = file.stat().st_size
        stream = file.open("rb")
        rejects_stream = None if rejects is None else rejects.open("w", newline="")
    except (OSError, TransactionFileError) as exc:
        raise fail(f"cannot import {file}: {getattr(exc, 'strerror', None) or exc}") from exc
    chunk_rows = chunk_size or settings().customer_import_chunk_rows
    lines = CountingLines(stream)
    rejects_out = _rejects_writer(rejects_stream)

    async def work(rows: Iterator[RawRow]) -> CustomerImportSummary:
        async with started() as state:
            with _progress() as progress:
                task = progress.add_task("importing customers", total=size)

                def advance(summary: CustomerImportSummary, refused: list[RowProblem]) -> None:
                    if rejects_out is not None:
                        rejects_out.writerows((problem.line, problem.reason) for problem in refused)
                    progress.update(
                        task,
                        completed=lines.bytes_read,
                        description=f"importing customers: {summary.imported:,} imported, "
                        f"{summary.present:,} present, {summary.rejected:,} rejected",
                    )

                return await import_customers(
                    database=state.database,
                    ring=state.key_ring,
                    rows=rows,
                    chunk_rows=chunk_rows,
                    audit_event=cli_event,
                    max_errors=max_errors,
                    on_chunk=advance,
                )

    with stream:
        try:
            rows = customer_rows(lines, chosen)  # a CSV header is checked here, before connecting
            summary = run(lambda: work(rows))
        except (OSError, TransactionFileError) as exc:
            raise fail(f"cannot import {file}: {exc}") from exc
        finally:
            if rejects_stream is not None:
                rejects_stream.close()
    report(summary, lines.lines_read)


customers_command.__doc__ = HELP
