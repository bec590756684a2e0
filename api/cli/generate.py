"""``cardcrm generate``: demo data files (development databases only)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import typer

from api.cli.common import console, fail, run, settings, started
from api.demo.transactions import generate_rows, load_cards, start_of_day, write_csv, write_jsonl
from resolvers.transactions.files import FileFormat, TransactionFileError

app = typer.Typer(help="Demo data files (development only).", no_args_is_help=True)


@app.command("transactions")
def transactions_command(
    out: Path = typer.Option(..., "--out", help="The file to write (.csv or .jsonl)."),
    rows: int = typer.Option(
        ..., "--rows", min=1, help="How many purchases (repayments and fraud patterns come on top)."
    ),
    seed: int = typer.Option(42, "--seed", help="Same seed, same file (for the same cards)."),
    file_format: FileFormat | None = typer.Option(
        None, "--format", help="Default: from the extension."
    ),
    days: int = typer.Option(365, "--days", min=1, help="How far back the spending goes."),
    end: datetime | None = typer.Option(
        None, "--end", formats=["%Y-%m-%d"], help="The day the year ends (UTC); default today."
    ),
    pan_share: float = typer.Option(
        0.05, "--pan-share", min=0.0, max=1.0, help="Share of rows naming the card by its PAN."
    ),
) -> None:
    """Writes a year of plausible transactions for the cards in the database: purchases, the
    repayments of each card's bills (a few late or missing) and a few fraud patterns."""
    if not settings().is_development:
        raise fail("demo files are for development databases only (they can hold card numbers)")
    try:
        chosen = file_format or FileFormat.of(out)
    except TransactionFileError as exc:
        raise fail(str(exc)) from exc
    until = start_of_day(end.replace(tzinfo=UTC) if end else None)

    kinds: Counter[str] = Counter()

    def counted(generated: Iterator[dict[str, str]]) -> Iterator[dict[str, str]]:
        for row in generated:
            kinds[row.get("kind") or "purchase"] += 1
            yield row

    async def work() -> int:
        async with started() as state, state.database.session() as session:
            cards = await load_cards(session, state.key_ring, with_pans=pan_share > 0)
        if not cards:
            raise fail("no activated card in the database: seed the demo data first")
        generated = generate_rows(
            cards,
            rows=rows,
            seed=seed,
            end=until,
            days=days,
            pan_share=pan_share,
            minimum_basis_points=state.settings.statement_minimum_payment_basis_points,
        )
        with out.open("w", encoding="utf-8", newline="") as stream:
            write = write_csv if chosen is FileFormat.CSV else write_jsonl
            return write(counted(generated), stream)

    written = run(work)
    console.print(
        f"wrote {written:,} transactions to {out} (up to {until:%Y-%m-%d}): "
        f"{kinds['purchase']:,} purchases, {kinds['repayment']:,} repayments"
    )
