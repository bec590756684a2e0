"""Evaluation (``cardcrm evaluate``, ``evaluateCustomers``): every customer's RFM figures,
lifecycle stage, churn risk, segments, tier and risk grade, set-based.

One aggregate query reads every customer with their transactions up to the as-of instant
(customers ⟕ cards ⟕ transactions, GROUP BY customer, conditional SUM/COUNT per period and
merchant category, MAX(occurred_at)), so customers without a card or a transaction are
evaluated too. It is streamed in chunks on a connection of its own; the pure rules
(``lifecycle_rules``, ``tier_rules``) decide each row in Python; each chunk is written back in
one transaction on a second connection with a few bulk statements: an executemany UPDATE of
the customers whose stage, segments, tier or risk grade changed, one upsert of everyone's
``customer_metrics``, and bulk INSERTs of the lifecycle, tier and risk grade history and of
the GRADE_WORSENED alerts. The risk grade also reads each chunk's cards and statements, in
one more set-based query per chunk (``resolvers.risk.grade_evaluation``). Nothing runs per
customer, and re-running with no new data changes no customer and writes no history.

A customer is updated only if it still has the version the query read, so an override or an
edit made meanwhile is never overwritten (the next run catches that customer up); history is
written only for the customers actually updated. A tier override holds while
``tier_override_until`` is after the as-of instant; a risk grade override holds while
``risk_grade_overridden`` is set (until a risk officer lifts it).

The query and what the rules decide for each of its rows are in ``evaluation_decision``;
this module streams the query, writes each chunk back and audits it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy import insert as sql_insert
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from auth import audit
from auth.audit import AuditEvent
from core.database import Database
from core.errors import BadUserInput, Forbidden
from core.identity import Principal, Role
from core.settings import Settings
from models.columns import utcnow
from models.customers.customer import LifecycleHistory
from models.growth.customer_metrics import CustomerMetrics
from models.growth.tier import TierChange, TierHistory
from resolvers.growth.evaluation_decision import CUSTOMERS, Decision, aggregate_query, decide
from resolvers.growth.lifecycle_rules import LifecycleRules
from resolvers.growth.tier_terms import bank_day, ladder_query, rules_in_force
from resolvers.risk.grade_evaluation import read_accounts, write_grades
from resolvers.risk.grade_rules import GradeRules

T = TypeVar("T")
AuditEventFactory = Callable[..., AuditEvent]
CHUNK_ROWS = 5000
EVALUATE_ACTION = "customers.evaluate"
EVALUATE_BATCH_ACTION = "customers.evaluate.batch"
# An as-of instant may be at most this far ahead of the server's clock.
CLOCK_SKEW = timedelta(minutes=5)

METRICS: Table = CustomerMetrics.__table__  # type: ignore[attr-defined]
LIFECYCLE_HISTORY: Table = LifecycleHistory.__table__  # type: ignore[attr-defined]
TIER_HISTORY: Table = TierHistory.__table__  # type: ignore[attr-defined]


@dataclass
class EvaluationSummary:
    as_of: datetime
    evaluated: int = 0
    # New stage → how many customers moved into it.
    stage_changes: Counter[str] = field(default_factory=Counter)
    upgrades: int = 0
    downgrades: int = 0
    segment_changes: int = 0
    # Customers whose tier an override kept.
    overrides_kept: int = 0
    # Customers changed by someone else while this run read them; the next run catches up.
    skipped: int = 0
    # New risk grade → how many customers moved to it; GRADE_WORSENED alerts raised; grades
    # a risk officer's override held.
    grade_changes: Counter[str] = field(default_factory=Counter)
    grade_alerts: int = 0
    grade_overrides_kept: int = 0
    seconds: float = 0.0

    def add(self, part: EvaluationSummary) -> None:
        """Counts a committed batch into the run's totals."""
        self.evaluated += part.evaluated
        self.stage_changes.update(part.stage_changes)
        self.upgrades += part.upgrades
        self.downgrades += part.downgrades
        self.segment_changes += part.segment_changes
        self.overrides_kept += part.overrides_kept
        self.skipped += part.skipped
        self.grade_changes.update(part.grade_changes)
        self.grade_alerts += part.grade_alerts
        self.grade_overrides_kept += part.grade_overrides_kept

    def details(self) -> dict[str, Any]:
        """The summary as JSON, for the audit entry."""
        return {
            "as_of": self.as_of.isoformat(),
            "evaluated": self.evaluated,
            "stage_changes": dict(sorted(self.stage_changes.items())),
            "upgrades": self.upgrades,
            "downgrades": self.downgrades,
            "segment_changes": self.segment_changes,
            "overrides_kept": self.overrides_kept,
            "skipped": self.skipped,
            "grade_changes": dict(sorted(self.grade_changes.items())),
            "grade_alerts": self.grade_alerts,
            "grade_overrides_kept": self.grade_overrides_kept,
        }


# -- writing a chunk back ------------------------------------------------------------------

_UPDATE_CUSTOMER = (
    sql_update(CUSTOMERS)
    .where(
        CUSTOMERS.c.id == bindparam("b_id", type_=CUSTOMERS.c.id.type),
        CUSTOMERS.c.version == bindparam("b_version"),
    )
    .values(
        lifecycle_stage=bindparam("new_stage"),
        segments=bindparam("new_segments", type_=CUSTOMERS.c.segments.type),
        tier_id=bindparam("new_tier_id", type_=CUSTOMERS.c.tier_id.type),
        risk_grade=bindparam("new_risk_grade"),
        version=bindparam("new_version"),
        updated_at=bindparam("stamp", type_=CUSTOMERS.c.updated_at.type),
    )
)


def _metrics_upsert(dialect: str) -> Any:
    statement = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(METRICS)
    columns = [column.name for column in METRICS.columns if column.name != "customer_id"]
    return statement.on_conflict_do_update(
        index_elements=[METRICS.c.customer_id],
        set_={name: statement.excluded[name] for name in columns},
    )


async def _updated(session: AsyncSession, ids: list[uuid.UUID], stamp: datetime) -> set[uuid.UUID]:
    """Which of these customers this run updated (their ``updated_at`` is its stamp)."""
    rows = await session.execute(
        select(CUSTOMERS.c.id).where(CUSTOMERS.c.id.in_(ids), CUSTOMERS.c.updated_at == stamp)
    )
    return {row.id for row in rows}


def _batch_event(
    audit_event: AuditEventFactory, part: EvaluationSummary, written: list[Decision]
) -> AuditEvent:
    """What one committed batch changed: its counts and the customers it updated."""
    changed_fields = {
        "lifecycle_stage": part.stage_changes.total(),
        "segments": part.segment_changes,
        "tier": part.upgrades + part.downgrades,
        "risk_grade": part.grade_changes.total(),
    }
    return audit_event(
        EVALUATE_BATCH_ACTION,
        target_type="Customer",
        fields=[name for name, count in changed_fields.items() if count],
        details={**part.details(), "customers": [str(d.customer_id) for d in written]},
    )


async def write_chunk(
    session: AsyncSession,
    decisions: list[Decision],
    stamp: datetime,
    summary: EvaluationSummary,
    audit_event: AuditEventFactory | None = None,
) -> None:
    """Writes one chunk's decisions in one transaction and counts them into ``summary``; a
    chunk that changed customers is audited in that same transaction, so a run interrupted
    later leaves in the audit log exactly what it committed."""
    changed = [d for d in decisions if d.update is not None]
    applied: set[uuid.UUID] = set()
    if changed:
        await session.execute(_UPDATE_CUSTOMER, [d.update for d in changed if d.update])
        applied = await _updated(session, [d.customer_id for d in changed], stamp)
    written = [d for d in changed if d.customer_id in applied]
    lifecycle = [d.lifecycle for d in written if d.lifecycle is not None]
    tiers = [d.tier for d in written if d.tier is not None]
    if lifecycle:
        await session.execute(sql_insert(LIFECYCLE_HISTORY), lifecycle)
    if tiers:
        await session.execute(sql_insert(TIER_HISTORY), tiers)
    grades = [d.grade for d in written if d.grade is not None and d.grade.history is not None]
    alerts = await write_grades(
        session,
        [g.history for g in grades if g.history is not None],
        [g.alert for g in grades if g.alert is not None],
    )
    dialect = session.get_bind().dialect.name
    await session.execute(_metrics_upsert(dialect), [d.metrics for d in decisions])
    part = EvaluationSummary(as_of=summary.as_of)
    part.evaluated = len(decisions)
    part.skipped = len(changed) - len(written)
    part.overrides_kept = sum(d.override_kept for d in decisions)
    part.segment_changes = sum(d.segments_changed for d in written)
    part.stage_changes.update(str(row["to_stage"]) for row in lifecycle)
    part.upgrades = sum(row["change"] == TierChange.UPGRADE for row in tiers)
    part.downgrades = sum(row["change"] == TierChange.DOWNGRADE for row in tiers)
    part.grade_changes.update(g.grade for g in grades)
    part.grade_alerts = alerts
    part.grade_overrides_kept = sum(bool(d.grade and d.grade.override_kept) for d in decisions)
    if written and audit_event is not None:
        async with audit.chain_lock(session):
            await audit.append(session, _batch_event(audit_event, part, written))
            await session.commit()
    else:
        await session.commit()
    summary.add(part)


# -- the entry points ----------------------------------------------------------------------


async def _read_ahead(chunks: AsyncIterator[T]) -> AsyncIterator[T]:
    """Yields each chunk while the next is already being fetched, so the database works on
    the next rows while Python applies the rules to these and writes them back."""
    pending = asyncio.ensure_future(anext(chunks, None))
    try:
        while (chunk := await pending) is not None:
            pending = asyncio.ensure_future(anext(chunks, None))
            yield chunk
    finally:
        pending.cancel()


async def evaluate_customers(
    *,
    database: Database,
    settings: Settings,
    audit_event: AuditEventFactory | None,
    as_of: datetime | None = None,
    chunk_rows: int = CHUNK_ROWS,
    on_chunk: Callable[[int], None] | None = None,
) -> EvaluationSummary:
    """Evaluates every customer as of ``as_of`` (default: now); ``on_chunk`` hears how many
    customers each committed chunk held (for a progress bar). Each chunk that changed
    customers gets an audit entry made by ``audit_event`` (None: not audited, for
    benchmarks only)."""
    started = time.perf_counter()
    as_of = as_of or utcnow()
    stamp = utcnow()
    rules = LifecycleRules.from_settings(settings)
    grading = GradeRules.from_settings(settings)
    summary = EvaluationSummary(as_of=as_of)
    async with database.session() as writer:
        on = bank_day(as_of, settings.contact_timezone)
        ladder = rules_in_force((await writer.execute(ladder_query(on))).all())
        await writer.commit()
        async with database.engine.connect() as reader:
            query = aggregate_query(rules, as_of).execution_options(yield_per=chunk_rows)
            result = await reader.stream(query)
            async for rows in _read_ahead(result.partitions(chunk_rows)):
                accounts = await read_accounts(writer, [row.id for row in rows], as_of, grading)
                decisions = [
                    decide(
                        row,
                        rules=rules,
                        ladder=ladder,
                        as_of=as_of,
                        stamp=stamp,
                        grading=grading,
                        account=accounts.get(row.id),
                    )
                    for row in rows
                ]
                await write_chunk(writer, decisions, stamp, summary, audit_event)
                if on_chunk is not None:
                    on_chunk(len(decisions))
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


async def count_customers(database: Database) -> int:
    """How many customers an evaluation will read (a progress bar's total)."""
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(CUSTOMERS)) or 0)


def checked_as_of(as_of: datetime | None) -> datetime:
    """Now, or the given instant: with a time zone, and not in the future."""
    now = utcnow()
    if as_of is None:
        return now
    if as_of.tzinfo is None:
        raise BadUserInput("asOf needs a UTC offset, e.g. 2025-06-30T00:00:00+08:00", field="asOf")
    if as_of > now + CLOCK_SKEW:
        raise BadUserInput("asOf may not be in the future", field="asOf")
    return as_of


async def evaluate_as_admin(
    *,
    database: Database,
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    as_of: datetime | None,
    audit_event: Callable[..., AuditEvent],
) -> EvaluationSummary:
    """The ``evaluateCustomers`` mutation: admins only (role admin, checked here; the field
    declares scope ``admin``), an audit entry per batch that changed customers and one with
    the summary."""
    if principal.role is not Role.ADMIN:
        raise Forbidden("only admins may evaluate all customers")
    summary = await evaluate_customers(
        database=database,
        settings=settings,
        audit_event=audit_event,
        as_of=checked_as_of(as_of),
        chunk_rows=settings.evaluation_batch_rows,
    )
    await audit.record_and_commit(
        session, audit_event(EVALUATE_ACTION, target_type="Customer", details=summary.details())
    )
    return summary
