"""Service stars (服务之星): per-agent figures of a range (``analytics { staff(range, branch) }``).

**Who is listed.** Staff whose role serves customers (agents and supervisors), active or not
(work done in the range counts even if they have left since), of the branch in scope:
admins and auditors see every branch (or the one they name), supervisors their own branch
(naming another is FORBIDDEN), agents only their own row. Marketers, risk officers,
customers and merchants hold no ``staff_stats:read`` and are refused by the field.

**What each row counts** (``[from, to)`` is the requested half-open range):

- **interactions**: interactions the agent logged (``interactions.staff_id``) with
  ``occurred_at`` in range; **CSAT** is the mean and count of their ``satisfaction`` (1–5);
- **tasks done**: staff tasks in status done that the agent completed (``completed_by``) with
  ``completed_at`` in range; **on time**: of those, the ones whose completion date, in the
  bank's time (``Settings.contact_timezone``, at its UTC offset now), is on or before
  ``due_on``;
- **tasks overdue**: open tasks assigned to the agent with ``due_on`` before today (bank
  time): a snapshot of now, whatever the range;
- **complaints resolved**: complaints assigned to the agent with ``resolved_at`` in range;
  **within SLA** by the service desk's one rule (``resolvers.service_desk.sla``);
- **NPS**: of the surveys rating the agent (``surveys.staff_id``, the resolver of the
  complaint surveyed) answered in range (``resolvers.analytics.nps``); exact, as nobody who
  sees this field is a suppressed role;
- **retention**: the distinct customers with a RETENTION task assigned to the agent and
  created in range (``atRiskCustomers``), and how many of them are *now* in neither the
  at-risk nor the churned lifecycle stage (``retained``); ``retentionRate`` is their share.

Every figure group is one SQL statement grouped by staff member over all the staff in
scope (``resolvers.analytics.staff_figures``): six statements whatever the number of agents.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from core.errors import Forbidden
from core.identity import Principal, Role
from core.request_database import RequestDatabase
from models.columns import utcnow
from models.organisation.organisation import StaffUser
from resolvers.analytics import staff_figures as figures
from resolvers.analytics.nps import NO_RESPONSES, Nps, nps_of
from resolvers.analytics.sql import branch_scope, checked_range, in_branch, ratio
from resolvers.suppression import EXACT

SERVING_ROLES = (Role.AGENT.value, Role.SUPERVISOR.value)


@dataclass(frozen=True)
class StaffStars:
    staff: StaffUser
    interactions: int
    csat_mean: float | None
    csat_count: int
    tasks_done: int
    tasks_done_on_time: int
    tasks_overdue: int
    complaints_resolved: int
    complaints_within_sla: int
    nps: Nps
    at_risk_customers: int
    retained: int

    @property
    def retention_rate(self) -> float | None:
        return ratio(self.retained, self.at_risk_customers)


async def _staff_in_scope(
    db: RequestDatabase, principal: Principal, branch_id: uuid.UUID | None
) -> SelectOfScalar[StaffUser]:
    """The staff rows the caller may see figures of (see the module docstring)."""
    query = select(StaffUser).where(col(StaffUser.role).in_(SERVING_ROLES))
    if principal.role is Role.AGENT:
        await branch_scope(db, principal, branch_id)  # naming another branch is FORBIDDEN
        return query.where(col(StaffUser.id) == principal.staff_id)
    if principal.role not in (Role.ADMIN, Role.AUDITOR, Role.SUPERVISOR):
        raise Forbidden("service stars are for supervisors, admins, auditors and agents")
    scoped = await branch_scope(db, principal, branch_id)
    return query.where(*in_branch(StaffUser.branch_id, scoped))


def _offset_minutes(timezone: str, now: datetime) -> int:
    offset = now.astimezone(ZoneInfo(timezone)).utcoffset()
    assert offset is not None
    return int(offset.total_seconds() // 60)


async def staff_stars(
    *,
    db: RequestDatabase,
    principal: Principal,
    timezone: str,
    date_from: datetime,
    date_to: datetime,
    branch_id: uuid.UUID | None,
) -> list[StaffStars]:
    """One row per staff member in scope, by username (figures: the module docstring)."""
    checked_range(date_from, date_to)
    staff_query = await _staff_in_scope(db, principal, branch_id)
    people = await db.scalars(staff_query.order_by(col(StaffUser.username)))
    if not people:
        return []
    ids = staff_query.with_only_columns(col(StaffUser.id))
    now = utcnow()
    offset = _offset_minutes(timezone, now)
    today = now.astimezone(ZoneInfo(timezone)).date()
    talks = await figures.interactions(db, ids, date_from, date_to)
    done = await figures.tasks_done(db, ids, date_from, date_to, offset)
    overdue = await figures.tasks_overdue(db, ids, today)
    resolved = await figures.complaints_resolved(db, ids, date_from, date_to)
    scores = await figures.survey_scores(db, ids, date_from, date_to)
    kept = await figures.retention(db, ids, date_from, date_to)
    rows = []
    for person in people:
        count, rated, total = talks.get(person.id, (0, 0, 0))
        done_count, on_time = done.get(person.id, (0, 0))
        resolved_count, within = resolved.get(person.id, (0, 0))
        at_risk, retained = kept.get(person.id, (0, 0))
        survey = scores.get(person.id)
        rows.append(
            StaffStars(
                staff=person,
                interactions=int(count),
                csat_mean=ratio(int(total), int(rated)),
                csat_count=int(rated),
                tasks_done=int(done_count),
                tasks_done_on_time=int(on_time),
                tasks_overdue=int(overdue.get(person.id, (0,))[0]),
                complaints_resolved=int(resolved_count),
                complaints_within_sla=int(within),
                nps=NO_RESPONSES if survey is None else nps_of(survey, EXACT),
                at_risk_customers=int(at_risk),
                retained=int(retained),
            )
        )
    return rows
