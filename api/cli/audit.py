"""``cardcrm audit``: check the audit log's keyed hash chain and anchor it with checkpoints."""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli.common import console, errors, fail, run, settings, started
from auth.audit_checkpoint import (
    AnchoredReport,
    ChainBroken,
    Checkpoint,
    CheckpointError,
    CheckpointSigner,
    checkpoint_signer,
    verify_anchored,
    write_checkpoint,
)

app = typer.Typer(help="The audit log.", no_args_is_help=True)


def _signer() -> CheckpointSigner:
    try:
        return checkpoint_signer(settings())
    except CheckpointError as exc:
        raise fail(f"{exc}; set CARDCRM_AUDIT_CHECKPOINT_KEY_FILE to the checkpoint key") from exc


def _kept(path: Path) -> list[tuple[str, str]]:
    """The checkpoint lines of a kept copy (blank lines skipped), labelled by line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}") from exc
    lines = [
        (f"{path.name} line {number}", line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not lines:
        raise fail(f"{path} holds no checkpoint")
    return lines


@app.command()
def verify(
    checkpoint: list[Path] = typer.Option(
        [], "--checkpoint", help="A kept copy of checkpoint lines to hold the chain against too."
    ),
) -> None:
    """Recomputes the keyed hash chain and holds it against every signed checkpoint; exits 1
    if any entry was altered, removed or reordered, the chain was rebuilt, entries newer than
    a checkpoint are gone, or a checkpoint is forged."""
    signer = _signer()
    kept = [line for path in checkpoint for line in _kept(path)]

    async def work() -> AnchoredReport:
        async with started() as state, state.database.session() as session:
            return await verify_anchored(session, signer, kept)

    report = run(work)
    chain = report.chain
    if not report.ok:
        for problem in chain.problems:
            errors.print(f"[red]{problem}[/]")
        errors.print(
            f"audit log BROKEN: {len(chain.problems)} problem(s) in {chain.entries} entries"
        )
        raise typer.Exit(code=1)
    console.print(f"audit log intact: {chain.entries} entries, head {chain.head_hash}")
    if report.anchor is None:
        console.print("not anchored yet: no checkpoint; run `cardcrm audit checkpoint`")
    else:
        console.print(
            f"anchored: the checkpoint of {report.anchor.at} covers "
            f"{report.anchor.entries} of {chain.entries} entries"
        )


@app.command("checkpoint")
def checkpoint_command() -> None:
    """Signs the chain's current length and head hash with the checkpoint key, stores the
    checkpoint and prints it (keep the line somewhere else: `audit verify --checkpoint FILE`)."""
    signer = _signer()

    async def work() -> Checkpoint | None:
        async with started() as state, state.database.session() as session:
            return await write_checkpoint(session, signer)

    try:
        written = run(work)
    except ChainBroken as broken:
        for problem in broken.problems:
            errors.print(f"[red]{problem}[/]")
        raise fail("the audit chain does not extend its last checkpoint; nothing signed") from None
    assert written is not None
    print(written.line())
