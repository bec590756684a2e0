"""Service stars in the API: ``analytics { staff(range, branch) }``, one row per agent; every
figure is defined and computed in ``resolvers.analytics.staff``."""

from __future__ import annotations

import strawberry

from resolvers.analytics import staff as staff_service
from schema.analytics.service import Nps
from schema.organisation.organisation import StaffMember
from schema.relay import to_global_id


@strawberry.type(
    description="One agent's service figures of a range (服务之星). Exact figures; shares are "
    "0–1 and null when nothing was counted."
)
class StaffStars:
    staff: StaffMember = strawberry.field(description="The agent (or supervisor).")
    branch_id: strawberry.ID | None = strawberry.field(
        description="Their branch (a Branch ID); null for staff of no branch."
    )
    interactions: int = strawberry.field(
        description="Interactions they logged that occurred in the range."
    )
    csat_mean: float | None = strawberry.field(
        description="Mean satisfaction (1–5) of those interactions that carry one; null if none."
    )
    csat_count: int = strawberry.field(description="How many of those interactions carry one.")
    tasks_done: int = strawberry.field(description="Staff tasks they completed in the range.")
    tasks_done_on_time: int = strawberry.field(
        description="Of those, the ones completed (bank time) on or before their due date."
    )
    tasks_overdue: int = strawberry.field(
        description="Open tasks assigned to them that are past their due date now (a "
        "snapshot, whatever the range)."
    )
    complaints_resolved: int = strawberry.field(
        description="Complaints assigned to them that were resolved in the range."
    )
    complaints_resolved_within_sla: int = strawberry.field(
        description="Of those, the ones resolved by their `dueAt` (the SLA)."
    )
    nps: Nps = strawberry.field(
        description="NPS of the surveys rating them (after complaints they resolved), "
        "answered in the range. Never suppressed here."
    )
    at_risk_customers: int = strawberry.field(
        description="Distinct customers with a RETENTION task assigned to them and created "
        "in the range."
    )
    retained: int = strawberry.field(
        description="Of those customers, how many are now neither at risk nor churned."
    )
    retention_rate: float | None = strawberry.field(
        description="`retained` / `atRiskCustomers`, 0–1; null when there were none."
    )

    @classmethod
    def from_result(cls, row: staff_service.StaffStars) -> StaffStars:
        branch = row.staff.branch_id
        return cls(
            staff=StaffMember.from_row(row.staff),
            branch_id=to_global_id("Branch", branch) if branch else None,
            interactions=row.interactions,
            csat_mean=row.csat_mean,
            csat_count=row.csat_count,
            tasks_done=row.tasks_done,
            tasks_done_on_time=row.tasks_done_on_time,
            tasks_overdue=row.tasks_overdue,
            complaints_resolved=row.complaints_resolved,
            complaints_resolved_within_sla=row.complaints_within_sla,
            nps=Nps.from_result(row.nps),
            at_risk_customers=row.at_risk_customers,
            retained=row.retained,
            retention_rate=row.retention_rate,
        )
