"""The SQL of service stars (``resolvers.analytics.staff``): one statement per figure group,
each grouped by staff member over the whole set of staff in scope, never one per agent.

Each function takes ``staff``, a subquery of the staff ids in scope, and answers a dict from
staff id to that group's figures; a staff member without any row is simply absent (zeros).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, case, distinct, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from core.request_database import RequestDatabase
from models.customers.customer import Customer, LifecycleStage
from models.outreach.survey import Survey
from models.service_desk.complaint import Complaint
from models.service_desk.interaction import Interaction
from models.tasks.task import StaffTask, TaskKind, TaskStatus
from resolvers.analytics.nps import nps_columns
from resolvers.analytics.sql import count_where, in_range
from resolvers.service_desk.sla import resolved_within_sla

Rows = dict[uuid.UUID, tuple[Any, ...]]
# A retained customer is no longer in one of these stages.
LOST_STAGES = (LifecycleStage.AT_RISK.value, LifecycleStage.CHURNED.value)


class local_date(FunctionElement[date]):
    """``local_date(ts, offset_minutes)``: the calendar date of a UTC timestamp at a fixed UTC
    offset (the bank's, in whole minutes), as SQL on SQLite and PostgreSQL alike."""

    type = Date()
    inherit_cache = True
    name = "local_date"


@compiles(local_date)
def _local_date_postgresql(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    stamp, minutes = (compiler.process(clause, **kw) for clause in element.clauses)
    return (
        f"CAST(({stamp} AT TIME ZONE 'UTC') + make_interval(mins => CAST({minutes} AS INTEGER)) "
        "AS DATE)"
    )


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    stamp, minutes = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"date({stamp}, ({minutes} || ' minutes'))"


async def _grouped(db: RequestDatabase, query: Executable) -> Rows:
    result = await db.execute(query)
    return {row[0]: tuple(row[1:]) for row in result.all()}


def _in(column: Any, staff: Any) -> ColumnElement[bool]:
    return col(column).in_(staff)


async def interactions(
    db: RequestDatabase, staff: Any, date_from: datetime, date_to: datetime
) -> Rows:
    """Interactions logged in range: count, then CSAT (count and sum of scores 1–5)."""
    score = col(Interaction.satisfaction)
    query = (
        select(
            col(Interaction.staff_id),
            func.count(),
            func.count(score),
            func.coalesce(func.sum(score), 0),
        )
        .where(
            _in(Interaction.staff_id, staff),
            *in_range(col(Interaction.occurred_at), date_from, date_to),
        )
        .group_by(col(Interaction.staff_id))
    )
    return await _grouped(db, query)


async def tasks_done(
    db: RequestDatabase, staff: Any, date_from: datetime, date_to: datetime, offset: int
) -> Rows:
    """Tasks completed in range by each: count, then those completed by their due date (the
    completion's date at the bank's UTC offset ``offset`` minutes, on or before ``due_on``)."""
    completed = col(StaffTask.completed_at)
    on_time = local_date(completed, offset) <= col(StaffTask.due_on)
    query = (
        select(col(StaffTask.completed_by), func.count(), count_where(on_time))
        .where(
            _in(StaffTask.completed_by, staff),
            col(StaffTask.status) == TaskStatus.DONE.value,
            *in_range(completed, date_from, date_to),
        )
        .group_by(col(StaffTask.completed_by))
    )
    return await _grouped(db, query)


async def tasks_overdue(db: RequestDatabase, staff: Any, today: date) -> Rows:
    """Open tasks assigned to each, due before ``today`` (a snapshot, whatever the range)."""
    query = (
        select(col(StaffTask.assignee_id), func.count())
        .where(
            _in(StaffTask.assignee_id, staff),
            col(StaffTask.status) == TaskStatus.OPEN.value,
            col(StaffTask.due_on) < today,
        )
        .group_by(col(StaffTask.assignee_id))
    )
    return await _grouped(db, query)


async def complaints_resolved(
    db: RequestDatabase, staff: Any, date_from: datetime, date_to: datetime
) -> Rows:
    """Complaints resolved in range, by their assignee: count, then within SLA."""
    query = (
        select(col(Complaint.assignee_id), func.count(), count_where(resolved_within_sla()))
        .where(
            _in(Complaint.assignee_id, staff),
            *in_range(col(Complaint.resolved_at), date_from, date_to),
        )
        .group_by(col(Complaint.assignee_id))
    )
    return await _grouped(db, query)


async def survey_scores(
    db: RequestDatabase, staff: Any, date_from: datetime, date_to: datetime
) -> Rows:
    """The ``nps_columns`` of the surveys rating each, answered in range."""
    query = (
        select(col(Survey.staff_id), *nps_columns(col(Survey.score), col(Survey.customer_id)))
        .where(
            _in(Survey.staff_id, staff),
            col(Survey.score).is_not(None),
            *in_range(col(Survey.answered_at), date_from, date_to),
        )
        .group_by(col(Survey.staff_id))
    )
    return await _grouped(db, query)


async def retention(
    db: RequestDatabase, staff: Any, date_from: datetime, date_to: datetime
) -> Rows:
    """Distinct customers with a retention task assigned to each and created in range, then
    how many of them are now neither at risk nor churned."""
    customer = col(StaffTask.customer_id)
    retained = col(Customer.lifecycle_stage).not_in(LOST_STAGES)
    query = (
        select(
            col(StaffTask.assignee_id),
            func.count(distinct(customer)),
            func.count(distinct(case((retained, customer)))),
        )
        .join(Customer, col(Customer.id) == customer)
        .where(
            _in(StaffTask.assignee_id, staff),
            col(StaffTask.kind) == TaskKind.RETENTION.value,
            *in_range(col(StaffTask.created_at), date_from, date_to),
        )
        .group_by(col(StaffTask.assignee_id))
    )
    return await _grouped(db, query)
