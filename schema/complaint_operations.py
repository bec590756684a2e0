"""Complaint queries and the workflow mutations (each a thin call into resolvers.complaint)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import strawberry

from api.context import Info
from auth.scopes import Scope
from models.complaint import ComplaintCategory, ComplaintSeverity, ComplaintStatus
from resolvers import complaint as service
from resolvers.complaint_loaders import ComplaintPageKey
from resolvers.complaint_workflow import ComplaintAction
from resolvers.pagination import PageArgs
from schema.common import UserError, run_mutation
from schema.complaint import Complaint
from schema.policy_field import scoped_field
from schema.relay import Connection, staff_uuid_of, uuid_of


@strawberry.input
class ComplaintFilter:
    status: ComplaintStatus | None = None
    severity: ComplaintSeverity | None = None
    assignee_id: strawberry.ID | None = None
    overdue: bool | None = None
    branch_id: strawberry.ID | None = None
    category: ComplaintCategory | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="One customer's complaints (a Customer ID)."
    )

    def to_filter(self) -> service.ComplaintFilter:
        return service.ComplaintFilter(
            customer_id=uuid_of(self.customer_id, "Customer", field="filter.customerId")
            if self.customer_id
            else None,
            status=self.status,
            severity=self.severity,
            overdue=self.overdue,
            category=self.category,
            created_from=self.created_from,
            created_to=self.created_to,
            assignee_id=staff_uuid_of(self.assignee_id, field="filter.assigneeId")
            if self.assignee_id
            else None,
            branch_id=uuid_of(self.branch_id, "Branch", field="filter.branchId")
            if self.branch_id
            else None,
        )


@strawberry.input
class FileComplaintInput:
    description: str
    category: ComplaintCategory = ComplaintCategory.OTHER
    channel: str = "app"
    severity: ComplaintSeverity | None = strawberry.field(
        default=None, description="Staff only; a customer's complaint starts as MEDIUM."
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for staff; customers file for themselves."
    )
    card_id: strawberry.ID | None = None


@strawberry.input(description="A workflow action on a complaint at a known version.")
class ComplaintActionInput:
    id: strawberry.ID
    version: int
    note: str | None = None


@strawberry.input
class AssignComplaintInput:
    id: strawberry.ID
    version: int
    assignee_id: strawberry.ID = strawberry.field(
        description="A `StaffMember.id` (see `staffMembers`), or your own `Viewer.id`."
    )
    note: str | None = None


@strawberry.input
class EscalateComplaintInput:
    id: strawberry.ID
    version: int
    note: str
    severity: ComplaintSeverity | None = None
    to_supervisor: bool = False


@strawberry.input
class ResolveComplaintInput:
    id: strawberry.ID
    version: int
    resolution: str
    note: str | None = None


@strawberry.input
class ReopenComplaintInput:
    id: strawberry.ID
    version: int
    reason: str


@strawberry.input
class RateComplaintInput:
    id: strawberry.ID
    version: int
    score: int


@strawberry.type
class ComplaintPayload:
    complaint: Complaint | None
    user_errors: list[UserError]


async def _change(
    info: Info, make_change: Callable[[], service.ComplaintChange]
) -> ComplaintPayload:
    """Runs one workflow action; expected failures (bad ids included) become userErrors and
    nothing is written."""
    ctx = info.context

    async def work() -> ComplaintPayload:
        change = make_change()
        async with ctx.db.exclusive() as session:
            row = await service.change_complaint(
                session=session,
                ring=ctx.key_ring,
                settings=ctx.settings,
                broker=ctx.state.broker,
                principal=ctx.principal,
                change=change,
            )
        return ComplaintPayload(complaint=Complaint.from_row(row), user_errors=[])

    return await run_mutation(work, lambda e: ComplaintPayload(complaint=None, user_errors=e))


def _action(
    input: ComplaintActionInput, action: ComplaintAction
) -> Callable[[], service.ComplaintChange]:
    return lambda: service.ComplaintChange(
        complaint_id=uuid_of(input.id, "Complaint"),
        version=input.version,
        action=action,
        note=input.note,
    )


async def customer_complaints(
    info: Info,
    customer_id: uuid.UUID,
    first: int | None,
    after: str | None,
    filter: ComplaintFilter | None,
) -> Connection[Complaint]:
    """``Customer.complaints``: ``complaints`` narrowed to one customer (the caller's complaint
    scope still applies: an agent sees the ones assigned to them or unassigned in branch),
    batched over a page of customers."""
    ctx = info.context
    args = PageArgs(first=first, after=after).validated(
        ctx.settings.default_page_size, ctx.settings.max_page_size
    )
    wanted = replace(filter.to_filter() if filter else service.ComplaintFilter(), customer_id=None)
    loaders = ctx.loaders.complaints_of(ctx.principal)
    page = await loaders.pages.load(ComplaintPageKey(customer_id, args.first or 0, after, wanted))

    async def count() -> int:
        return await loaders.counts.load((customer_id, wanted))

    return Connection.build(page, Complaint.from_row, count)


@strawberry.type
class ComplaintQuery:
    @scoped_field(Scope.COMPLAINTS_READ, "One complaint in your scope; NOT_FOUND otherwise.")
    async def complaint(self, info: Info, id: strawberry.ID) -> Complaint | None:
        row = await service.get_complaint(
            db=info.context.db,
            principal=info.context.principal,
            complaint_id=uuid_of(id, "Complaint"),
        )
        return Complaint.from_row(row)

    @scoped_field(Scope.COMPLAINTS_READ, "Complaints in your scope, newest first.")
    async def complaints(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: ComplaintFilter | None = None,
    ) -> Connection[Complaint] | None:
        page, count = await service.list_complaints(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            filter=filter.to_filter() if filter else service.ComplaintFilter(),
            page=PageArgs(first, after, last, before),
        )
        return Connection.build(page, Complaint.from_row, count)


@strawberry.type
class ComplaintMutation:
    @strawberry.mutation(description="Files a complaint (staff for a customer, or the customer).")
    async def file_complaint(self, info: Info, input: FileComplaintInput) -> ComplaintPayload:
        ctx = info.context

        async def work() -> ComplaintPayload:
            data = service.NewComplaint(
                description=input.description,
                category=input.category,
                channel=input.channel,
                severity=input.severity,
                customer_id=uuid_of(input.customer_id, "Customer", field="customerId")
                if input.customer_id
                else None,
                card_id=uuid_of(input.card_id, "Card", field="cardId") if input.card_id else None,
            )
            async with ctx.db.exclusive() as session:
                row = await service.file_complaint(
                    session=session,
                    ring=ctx.key_ring,
                    settings=ctx.settings,
                    broker=ctx.state.broker,
                    principal=ctx.principal,
                    data=data,
                )
            return ComplaintPayload(complaint=Complaint.from_row(row), user_errors=[])

        return await run_mutation(work, lambda e: ComplaintPayload(complaint=None, user_errors=e))

    @strawberry.mutation(description="open → acknowledged.")
    async def acknowledge_complaint(
        self, info: Info, input: ComplaintActionInput
    ) -> ComplaintPayload:
        return await _change(info, _action(input, ComplaintAction.ACKNOWLEDGE))

    @strawberry.mutation(
        description="acknowledged → in progress (the caller takes it if unassigned)."
    )
    async def start_complaint_work(
        self, info: Info, input: ComplaintActionInput
    ) -> ComplaintPayload:
        return await _change(info, _action(input, ComplaintAction.START_WORK))

    @strawberry.mutation(description="resolved → closed.")
    async def close_complaint(self, info: Info, input: ComplaintActionInput) -> ComplaintPayload:
        return await _change(info, _action(input, ComplaintAction.CLOSE))

    @strawberry.mutation(description="Hands the complaint to an agent or supervisor of its branch.")
    async def assign_complaint(self, info: Info, input: AssignComplaintInput) -> ComplaintPayload:
        return await _change(
            info,
            lambda: service.ComplaintChange(
                complaint_id=uuid_of(input.id, "Complaint"),
                version=input.version,
                action=ComplaintAction.ASSIGN,
                note=input.note,
                assignee_id=staff_uuid_of(input.assignee_id, field="assigneeId"),
            ),
        )

    @strawberry.mutation(
        description="Raises severity (re-computing the deadline) and/or hands to a supervisor."
    )
    async def escalate_complaint(
        self, info: Info, input: EscalateComplaintInput
    ) -> ComplaintPayload:
        return await _change(
            info,
            lambda: service.ComplaintChange(
                complaint_id=uuid_of(input.id, "Complaint"),
                version=input.version,
                action=ComplaintAction.ESCALATE,
                note=input.note,
                severity=input.severity,
                to_supervisor=input.to_supervisor,
            ),
        )

    @strawberry.mutation(description="in progress → resolved, with the resolution (encrypted).")
    async def resolve_complaint(self, info: Info, input: ResolveComplaintInput) -> ComplaintPayload:
        return await _change(
            info,
            lambda: service.ComplaintChange(
                complaint_id=uuid_of(input.id, "Complaint"),
                version=input.version,
                action=ComplaintAction.RESOLVE,
                note=input.note,
                resolution=input.resolution,
            ),
        )

    @strawberry.mutation(description="resolved or closed → in progress again, with a reason.")
    async def reopen_complaint(self, info: Info, input: ReopenComplaintInput) -> ComplaintPayload:
        return await _change(
            info,
            lambda: service.ComplaintChange(
                complaint_id=uuid_of(input.id, "Complaint"),
                version=input.version,
                action=ComplaintAction.REOPEN,
                note=input.reason,
            ),
        )

    @strawberry.mutation(description="The complainant's satisfaction 1–5, once, after resolution.")
    async def rate_complaint(self, info: Info, input: RateComplaintInput) -> ComplaintPayload:
        return await _change(
            info,
            lambda: service.ComplaintChange(
                complaint_id=uuid_of(input.id, "Complaint"),
                version=input.version,
                action=ComplaintAction.RATE,
                score=input.score,
            ),
        )
