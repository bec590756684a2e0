"""``cardcrm keys``: data-key rotation, online re-encryption, status and retirement."""

from __future__ import annotations

import typer
from rich.progress import Progress
from rich.table import Table

from api.cli.common import console, fail, run, settings, started
from api.key_ring import MIN_RELOAD_SECONDS
from models.key_store import (
    ReencryptReport,
    RetireRefused,
    SealedCounts,
    count_sealed_values,
    master_key_from_settings,
    reencrypt,
    retire,
    rotate,
    sealed_counts,
    stored_data_key_versions,
)

app = typer.Typer(help="Encryption keys.", no_args_is_help=True)


@app.command("rotate")
def rotate_command() -> None:
    """Adds a data-key version; new values are sealed with it from now on."""

    async def work() -> int:
        async with started() as state, state.database.session() as session:
            return await rotate(session, master_key_from_settings(settings()))

    version = run(work)
    console.print(
        f"data key v{version} is now active; run `cardcrm keys reencrypt` to move old values"
    )


def default_settle_seconds() -> float:
    """How long after a rotation a server may still commit a value sealed under the old key:
    its key check interval, the longest that check may wait for a connection and its
    statement, the keeper's reload spacing, and the longest a request may run."""
    current = settings()
    check = current.database_pool_timeout_seconds + current.database_statement_timeout_seconds
    return (
        current.key_check_seconds + check + MIN_RELOAD_SECONDS + current.execution_timeout_seconds
    )


@app.command("reencrypt")
def reencrypt_command(
    batch_size: int = typer.Option(500, min=1, help="Rows per transaction."),
    settle_seconds: float | None = typer.Option(
        None,
        min=0,
        help="Wait this long after the newest key's creation before the final check "
        "(default: CARDCRM_KEY_CHECK_SECONDS + 1 + CARDCRM_EXECUTION_TIMEOUT_SECONDS).",
    ),
) -> None:
    """Re-seals every value under the newest key, and ends only when none is left under an
    older one, even while servers write; safe to interrupt and run again."""
    settle = default_settle_seconds() if settle_seconds is None else settle_seconds

    async def work() -> ReencryptReport:
        async with started() as state:
            total = await count_sealed_values(state.database)
            with Progress(console=console) as progress:
                task = progress.add_task("re-encrypting", total=total)
                return await reencrypt(
                    state.database,
                    state.key_ring,
                    batch_size=batch_size,
                    on_batch=lambda _column, rows: progress.advance(task, rows),
                    reload=state.keys.reload,
                    settle_seconds=settle,
                )

    report = run(work)
    console.print(f"examined {report.examined} values, re-encrypted {report.reencrypted}")
    console.print(
        f"every value is sealed under data key v{report.version} "
        f"({report.passes} passes); older versions can be retired"
    )


def _status_table(counts: SealedCounts, stored: list[int]) -> Table:
    newest = max(stored)
    versions = sorted({v for per in counts.values() for v in per} | set(stored))
    table = Table(
        "table.column", *(f"v{v}" + (" (active)" if v == newest else "") for v in versions)
    )
    for (table_name, column), per in counts.items():
        table.add_row(f"{table_name}.{column}", *(str(per.get(v, 0)) for v in versions))
    totals = [sum(per.get(v, 0) for per in counts.values()) for v in versions]
    table.add_row("total", *(str(total) for total in totals), end_section=True)
    return table


@app.command("status")
def status_command() -> None:
    """How many values each data-key version seals, per table and column and in total."""

    async def work() -> tuple[SealedCounts, list[int]]:
        async with started() as state:  # a first start stores data key v1
            async with state.database.session() as session:
                stored = await stored_data_key_versions(session)
            return await sealed_counts(state.database), stored

    counts, stored = run(work)
    console.print(_status_table(counts, stored))
    newest = max(stored)
    older = sum(n for per in counts.values() for v, n in per.items() if v < newest)
    console.print(f"values under an older version than v{newest}: {older}")
    if older == 0 and len(stored) > 1:
        console.print(f"retirable once settled: {', '.join(f'v{v}' for v in stored[:-1])}")


@app.command("retire")
def retire_command(version: int = typer.Argument(..., min=1, help="The data-key version.")) -> None:
    """Deletes an old data key; refused while any value is sealed under it (or, until the
    settle time has passed since the newest key's creation, may still be)."""

    async def work() -> None:
        async with started() as state:
            await retire(state.database, version, settle_seconds=default_settle_seconds())

    try:
        run(work)
    except RetireRefused as refused:
        raise fail(f"not retired: {refused}") from refused
    console.print(f"data key v{version} is retired")
