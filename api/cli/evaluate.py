"""``cardcrm evaluate``: every customer's RFM, lifecycle stage, churn risk, segments and tier."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import typer
from rich.progress import Progress

from api.cli.common import console, fail, run, started
from auth import audit
from auth.audit import AuditEvent
from models.customers.customer import LifecycleStage
from resolvers.growth.evaluation import (
    EVALUATE_ACTION,
    EvaluationSummary,
    count_customers,
    evaluate_customers,
)

CLI_ACTOR = "cardcrm-cli"


def cli_event(action: str, **kwargs: Any) -> AuditEvent:
    """An audit event of this command (the system acting, not a person)."""
    return AuditEvent(actor_kind="system", actor_id=CLI_ACTOR, action=action, **kwargs)


def parse_as_of(text: str | None) -> datetime | None:
    """An ISO instant with a UTC offset (``2025-06-30T00:00:00+08:00``, ``...Z``), or a date
    meaning its first instant in UTC."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"--as-of {text!r} is not an ISO date or time, e.g. 2025-06-30") from exc
    if value.tzinfo is None:
        raise fail("--as-of needs a UTC offset, e.g. 2025-06-30T00:00:00+08:00 or ...Z")
    return value


def report(summary: EvaluationSummary) -> None:
    console.print(
        f"evaluated {summary.evaluated} customers as of {summary.as_of.isoformat()} "
        f"in {summary.seconds:.1f} s"
    )
    moved = [
        f"{stage.value} {summary.stage_changes[stage.value]}"
        for stage in LifecycleStage
        if summary.stage_changes[stage.value]
    ]
    console.print(f"stage changes: {', '.join(moved) if moved else 'none'}")
    console.print(
        f"tiers: {summary.upgrades} upgrades, {summary.downgrades} downgrades, "
        f"{summary.overrides_kept} kept by an override"
    )
    console.print(f"segment changes: {summary.segment_changes}")
    grades = [f"{g} {n}" for g, n in sorted(summary.grade_changes.items())]
    console.print(
        f"risk grades: {', '.join(grades) if grades else 'no change'}; "
        f"{summary.grade_alerts} alerts; {summary.grade_overrides_kept} kept by an override"
    )
    if summary.skipped:
        console.print(
            f"{summary.skipped} customers changed meanwhile and were left for the next run"
        )


def evaluate(
    as_of: str | None = typer.Option(
        None, "--as-of", help="Evaluate as of this ISO instant (with offset) or date; default now."
    ),
) -> None:
    """Evaluates every customer; stage and tier changes go to their histories (audited)."""
    instant = parse_as_of(as_of)

    async def work() -> EvaluationSummary:
        async with started() as state:
            total = await count_customers(state.database)
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("evaluating", total=total)
                summary = await evaluate_customers(
                    database=state.database,
                    settings=state.settings,
                    audit_event=cli_event,
                    as_of=instant,
                    chunk_rows=state.settings.evaluation_batch_rows,
                    on_chunk=lambda rows: progress.advance(task, rows),
                )
            async with state.database.session() as session:
                await audit.record_and_commit(
                    session,
                    cli_event(EVALUATE_ACTION, target_type="Customer", details=summary.details()),
                )
            return summary

    report(run(work))
