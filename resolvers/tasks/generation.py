"""``cardcrm tasks generate --as-of DATE``: the day's staff tasks, set-based.

One ``INSERT … SELECT … ON CONFLICT (source_key) DO NOTHING`` per kind, then one ``UPDATE``
that assigns the new (and any still unassigned) open tasks, all in one transaction with one
audit entry. ``source_key`` names the fact a task comes from, so a second run of the same
day, or a run that looks back over days already done, writes nothing twice:

- COMPLAINT_FOLLOW_UP (回访): a complaint resolved in the look-back window
  (``task_lookback_days`` local days up to the day); due N days after its resolution.
- NEW_CARD_FOLLOW_UP: a card issued in the window and not closed; due N days after issue.
- BIRTHDAY_CARE (关怀): consenting customers (any channel) whose birthday is the day, found
  by the birthday blind index: one HMAC of "MM-DD" per run, then an indexed equality
  (customers born on 29 February are greeted on 28 February in other years).
- HOLIDAY_CARE: on the holidays of ``task_holidays``, consenting customers of the tiers in
  ``task_holiday_tiers`` (the higher ones: a call per customer does not scale to all).
- RETENTION: customers whose stage turned at-risk in the window (a lifecycle history row)
  and still is; the reasons are the churn reasons of their last evaluation, the offers those
  they hold open (targeted, viewed or accepted, of an active offer not yet ended).
- REACTIVATION: the same for customers who turned dormant.
- REPAYMENT_REMINDER: the day's planned repayment reminders by phone (the others go out by
  themselves); due the day.

Assignment (``assign_open_tasks``) is a set-based round robin per branch over its active
agents, the agent with the fewest open tasks first; a branch without one keeps its tasks
unassigned, where its supervisors see them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.encryption import KeyRing
from core.settings import Settings
from models.tasks.task import StaffTask, TaskKind, TaskStatus
from resolvers.tasks.assignment import assign_open_tasks
from resolvers.tasks.sources import Sources

GENERATE_ACTION = "tasks.generate"
TASKS: Table = StaffTask.__table__  # type: ignore[attr-defined]


@dataclass
class GenerateSummary:
    as_of: date
    created: dict[TaskKind, int] = field(default_factory=dict)
    assigned: int = 0
    unassigned: int = 0
    # The tasks created or assigned by this run, for ``taskAssigned`` once committed.
    touched: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.created.values())

    def details(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "created": {kind.value: count for kind, count in self.created.items()},
            "assigned": self.assigned,
            "unassigned_open": self.unassigned,
        }

    def lines(self) -> list[str]:
        kinds = [f"  {kind.value}: {count}" for kind, count in self.created.items()]
        return [
            f"generated {self.total} staff tasks as of {self.as_of.isoformat()}",
            *kinds,
            f"assigned {self.assigned}; {self.unassigned} open tasks without an agent",
        ]


async def _touched(session: AsyncSession, now: datetime) -> Sequence[tuple[uuid.UUID, uuid.UUID]]:
    t = TASKS.c
    rows = await session.execute(select(t.id, t.branch_id).where(t.updated_at == now))
    return [(row_id, branch_id) for row_id, branch_id in rows]


async def generate(
    session: AsyncSession, settings: Settings, ring: KeyRing, as_of: date
) -> GenerateSummary:
    """Writes the day's tasks and assigns them (uncommitted: the caller audits and commits)."""
    run = Sources(session, settings, ring, as_of)
    summary = GenerateSummary(as_of)
    for kind, query in run.queries():
        summary.created[kind] = await run.insert(query) if query is not None else 0
    summary.assigned = await assign_open_tasks(session, run.now)
    t = TASKS.c
    summary.unassigned = int(
        await session.scalar(
            select(func.count()).where(t.assignee_id.is_(None), t.status == TaskStatus.OPEN.value)
        )
        or 0
    )
    summary.touched = list(await _touched(session, run.now))
    return summary
