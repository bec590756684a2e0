"""``cardcrm keys``: data-key rotation and online re-encryption."""

from __future__ import annotations

import typer
from rich.progress import Progress

from api.cli.common import console, run, settings, started
from models.key_store import count_sealed_values, master_key_from_settings, reencrypt, rotate

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


@app.command("reencrypt")
def reencrypt_command(
    batch_size: int = typer.Option(500, min=1, help="Rows per transaction."),
) -> None:
    """Re-seals every value under the newest key; safe to interrupt and run again."""

    async def work() -> tuple[int, int]:
        async with started() as state:
            total = await count_sealed_values(state.database)
            with Progress(console=console) as progress:
                task = progress.add_task("re-encrypting", total=total)
                report = await reencrypt(
                    state.database,
                    state.key_ring,
                    batch_size=batch_size,
                    on_batch=lambda _column, rows: progress.advance(task, rows),
                )
            return report.examined, report.reencrypted

    examined, changed = run(work)
    console.print(f"examined {examined} values, re-encrypted {changed}")
