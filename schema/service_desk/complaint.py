"""Complaints and their timeline. Description, resolution and timeline notes are C2."""

from __future__ import annotations

from datetime import datetime

import strawberry

from core.context import Info
from models.service_desk.complaint import Complaint as ComplaintRow
from models.service_desk.complaint import (
    ComplaintCategory,
    ComplaintEvent,
    ComplaintSeverity,
    ComplaintStatus,
)
from resolvers.customers.loaders import CustomerByIdLoader
from resolvers.organisation.loaders import StaffUserByIdLoader
from resolvers.service_desk.complaint_workflow import COMPLAINT_WORKFLOW, ComplaintAction
from resolvers.service_desk.loaders import TimelineByComplaintIdLoader
from resolvers.service_desk.sla import is_overdue
from schema.customers.customer import CustomerFields, CustomerRef
from schema.organisation.organisation import StaffMember
from schema.policy_field import sealed_field
from schema.relay import Node, to_global_id

DUE_AT = (
    "The SLA deadline (ISO 8601, UTC): filing time plus the severity's hours "
    "(CARDCRM_SLA_HOURS_*), never later than the customer's tier's service level; recomputed "
    "when escalation raises the severity."
)


@strawberry.type(description="One append-only step of a complaint's history.")
class ComplaintTimelineEntry:
    action: ComplaintAction = strawberry.field(description="What was done.")
    actor_kind: str = strawberry.field(
        description="Who did it: `staff`, `customer`, `merchant` or `service`."
    )
    from_status: ComplaintStatus | None = strawberry.field(
        description="The status before; null on the entry that files the complaint."
    )
    to_status: ComplaintStatus | None = strawberry.field(
        description="The status after (the same as before for assign, escalate and rate)."
    )
    created_at: datetime = strawberry.field(description="When it was done (ISO 8601, UTC).")
    _row: strawberry.Private[ComplaintEvent]

    note = sealed_field("ComplaintTimelineEntry", "note", "note")

    @classmethod
    def from_row(cls, row: ComplaintEvent) -> ComplaintTimelineEntry:
        return cls(
            action=ComplaintAction(row.action),
            actor_kind=row.actor_kind,
            from_status=ComplaintStatus(row.from_status) if row.from_status else None,
            to_status=ComplaintStatus(row.to_status) if row.to_status else None,
            created_at=row.created_at,
            _row=row,
        )


@strawberry.type(description="A complaint, handled through its workflow to an SLA deadline.")
class Complaint(Node):
    category: ComplaintCategory = strawberry.field(description="What the complaint is about.")
    channel: str = strawberry.field(
        description="How it came in, as given when filed (free text, at most 16 characters)."
    )
    severity: ComplaintSeverity = strawberry.field(
        description="How serious it is; sets `dueAt`. A customer's complaint starts as MEDIUM; "
        "staff may set it when filing, and only escalation raises it later."
    )
    status: ComplaintStatus = strawberry.field(description="Where it stands in the workflow.")
    due_at: datetime = strawberry.field(description=DUE_AT)
    satisfaction: int | None = strawberry.field(
        description="The complainant's rating, 1 to 5 (`rateComplaint`); null until rated."
    )
    reopen_count: int = strawberry.field(description="How many times it was reopened.")
    escalation_level: int = strawberry.field(
        description="How many times it was escalated; 0 if never."
    )
    acknowledged_at: datetime | None = strawberry.field(
        description="When it was acknowledged (ISO 8601, UTC); null before."
    )
    resolved_at: datetime | None = strawberry.field(
        description="When it was resolved (ISO 8601, UTC); null before, and again once reopened."
    )
    closed_at: datetime | None = strawberry.field(
        description="When it was closed (ISO 8601, UTC); null before, and again once reopened."
    )
    created_at: datetime = strawberry.field(description="When it was filed (ISO 8601, UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (ISO 8601, UTC).")
    version: int = strawberry.field(
        description="Starts at 1, +1 on every change; the workflow mutations take it back "
        "(CONFLICT if it is no longer current)."
    )
    _row: strawberry.Private[ComplaintRow]

    @strawberry.field(description="Still open past `dueAt`; never true once resolved or closed.")
    def is_overdue(self) -> bool:
        return is_overdue(self._row)

    @strawberry.field(description="The workflow actions allowed in the current status.")
    def allowed_actions(self) -> list[ComplaintAction]:
        return COMPLAINT_WORKFLOW.allowed_actions(ComplaintStatus(self._row.status))

    description = sealed_field("Complaint", "description", "description")

    resolution = sealed_field("Complaint", "resolution", "resolution")

    @strawberry.field(description="The complainant.")
    async def customer(self, info: Info) -> CustomerRef:
        row = await info.context.loader(CustomerByIdLoader).load(self._row.customer_id)
        assert row is not None
        return CustomerFields.from_row(row)

    @strawberry.field(description="The staff member who handles it now; null if unassigned.")
    async def assignee(self, info: Info) -> StaffMember | None:
        if self._row.assignee_id is None:
            return None
        row = await info.context.loader(StaffUserByIdLoader).load(self._row.assignee_id)
        return StaffMember.from_row(row) if row else None

    @strawberry.field(description="Every change, oldest first; entries are never edited.")
    async def timeline(self, info: Info) -> list[ComplaintTimelineEntry]:
        rows = await info.context.loader(TimelineByComplaintIdLoader).load(self._row.id)
        return [ComplaintTimelineEntry.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: ComplaintRow) -> Complaint:
        return cls(
            id=to_global_id("Complaint", row.id),
            category=ComplaintCategory(row.category),
            channel=row.channel,
            severity=ComplaintSeverity(row.severity),
            status=ComplaintStatus(row.status),
            due_at=row.due_at,
            satisfaction=row.satisfaction,
            reopen_count=row.reopen_count,
            escalation_level=row.escalation_level,
            acknowledged_at=row.acknowledged_at,
            resolved_at=row.resolved_at,
            closed_at=row.closed_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
            _row=row,
        )
