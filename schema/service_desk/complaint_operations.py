"""Complaint queries and the workflow mutations (each a thin call into
``resolvers.service_desk.complaint_queries`` or ``resolvers.service_desk.complaints``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import Context, Info
from core.identity import Scope
from models.service_desk.complaint import Complaint as ComplaintRow
from models.service_desk.complaint import ComplaintCategory, ComplaintSeverity, ComplaintStatus
from resolvers.pagination import PageArgs
from resolvers.service_desk import complaint_queries as queries
from resolvers.service_desk import complaints as service
from resolvers.service_desk.complaint_workflow import ComplaintAction
from schema.common import UserError, mutation_payload, payload_field
from schema.described import described_argument, optional_field
from schema.relay import After, Before, Connection, First, Last, staff_uuid_of, uuid_of
from schema.scope_field import scoped_field
from schema.service_desk.complaint import Complaint

SCOPE = (
    "Your scope: an agent's own complaints and the unassigned ones of their branch; a "
    "supervisor's branch; a customer's own; all for admin and auditor."
)
ID = "The complaint (a `Complaint.id`)."
VERSION = "The `version` you last read; CONFLICT if the complaint has changed since."
NOTE = "A note for the timeline, at most 4,000 characters; stored encrypted."
ERRORS = (
    " userErrors: NOT_FOUND outside your scope; CONFLICT on a stale `version` or a status that "
    "does not allow it; FORBIDDEN; BAD_USER_INPUT."
)
FILE = (
    "Files a complaint, OPEN and due by `dueAt`: a customer for themselves, or admin, supervisor "
    "or agent for a customer in their scope. userErrors: NOT_FOUND, BAD_USER_INPUT, FORBIDDEN."
)
HANDLERS = " Admin, supervisor or agent." + ERRORS
_writing = partial(scoped_field, Scope.COMPLAINTS_WRITE)  # what every complaint mutation needs


@strawberry.input(description="Narrows a complaint list; every condition given must hold.")
class ComplaintFilter:
    status: ComplaintStatus | None = optional_field("Only complaints in this status.")
    severity: ComplaintSeverity | None = optional_field("Only complaints of this severity.")
    assignee_id: strawberry.ID | None = optional_field(
        "Assigned to this `StaffMember.id`/`Viewer.id`."
    )
    overdue: bool | None = optional_field("True: only those open past `dueAt`; false: the others.")
    branch_id: strawberry.ID | None = optional_field("Only those of this branch (a Branch ID).")
    category: ComplaintCategory | None = optional_field("Only complaints in this category.")
    created_from: datetime | None = optional_field(
        "Filed at or after this instant (with a UTC offset)."
    )
    created_to: datetime | None = optional_field("Filed before this instant (with a UTC offset).")
    customer_id: strawberry.ID | None = optional_field("One customer's complaints (a Customer ID).")

    def to_filter(self) -> queries.ComplaintFilter:
        return queries.ComplaintFilter(
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


@strawberry.input(description="A new complaint.")
class FileComplaintInput:
    description: str = strawberry.field(
        description="What went wrong; required, at most 4,000 characters; stored encrypted."
    )
    category: ComplaintCategory = strawberry.field(
        default=ComplaintCategory.OTHER, description="What it is about."
    )
    channel: str = strawberry.field(
        default="app", description="How it came in (free text, at most 16 characters)."
    )
    severity: ComplaintSeverity | None = optional_field(
        "Set by staff only; MEDIUM if left out, and always for a customer's complaint."
    )
    customer_id: strawberry.ID | None = optional_field(
        "Required for staff; customers file their own."
    )
    card_id: strawberry.ID | None = optional_field("One of the complainant's cards (a Card ID).")


@strawberry.input(description="A workflow action on a complaint at a known version.")
class ComplaintActionInput:
    id: strawberry.ID = strawberry.field(description=ID)
    version: int = strawberry.field(description=VERSION)
    note: str | None = optional_field(NOTE)


@strawberry.input(description="Who should handle a complaint next.")
class AssignComplaintInput:
    id: strawberry.ID = strawberry.field(description=ID)
    version: int = strawberry.field(description=VERSION)
    assignee_id: strawberry.ID = strawberry.field(
        description="A `StaffMember.id` (see `staffMembers`), or your own `Viewer.id`: an "
        "active agent or supervisor of the complaint's branch."
    )
    note: str | None = optional_field(NOTE)


@strawberry.input(description="An escalation: a higher severity, a supervisor, or both.")
class EscalateComplaintInput:
    id: strawberry.ID = strawberry.field(description=ID)
    version: int = strawberry.field(description=VERSION)
    note: str = strawberry.field(description="Why; required, at most 4,000 characters.")
    severity: ComplaintSeverity | None = optional_field(
        "Above the current one; `dueAt` is recomputed."
    )
    to_supervisor: bool = strawberry.field(
        default=False, description="Hand it to an active supervisor of the complaint's branch."
    )


@strawberry.input(description="How a complaint in progress was resolved.")
class ResolveComplaintInput:
    id: strawberry.ID = strawberry.field(description=ID)
    version: int = strawberry.field(description=VERSION)
    resolution: str = strawberry.field(
        description="The resolution; required, at most 4,000 characters; stored encrypted."
    )
    note: str | None = optional_field(NOTE)


@strawberry.input(description="Why a resolved or closed complaint needs more work.")
class ReopenComplaintInput:
    id: strawberry.ID = strawberry.field(description=ID)
    version: int = strawberry.field(description=VERSION)
    reason: str = strawberry.field(
        description="Why; required, at most 4,000 characters; kept as the timeline note."
    )


@strawberry.input(description="The complainant's rating of a resolved or closed complaint.")
class RateComplaintInput:
    id: strawberry.ID = strawberry.field(description=ID)
    version: int = strawberry.field(description=VERSION)
    score: int = strawberry.field(description="A whole number from 1 to 5.")


ActionArg = Annotated[
    ComplaintActionInput, described_argument("The complaint, its version and a note.")
]


@strawberry.type(description="The outcome of a complaint mutation.")
class ComplaintPayload:
    complaint: Complaint | None = payload_field(
        "The complaint as it is now; null when there are userErrors."
    )
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, row: ComplaintRow) -> ComplaintPayload:
        return cls(complaint=Complaint.from_row(row))


MakeChange = Callable[[], service.ComplaintChange]


async def _change(info: Info, make_change: MakeChange) -> ComplaintPayload:
    """Runs one workflow action, built by ``make_change`` inside the mutation: expected
    failures (bad ids included) become userErrors and nothing is written."""

    async def write(session: AsyncSession, ctx: Context) -> ComplaintRow:
        return await service.change_complaint(
            session=session,
            ring=ctx.key_ring,
            settings=ctx.settings,
            broker=ctx.state.broker,
            principal=ctx.principal,
            change=make_change(),
        )

    return await mutation_payload(info, ComplaintPayload, write, ComplaintPayload.of)


def _action(input: ComplaintActionInput, action: ComplaintAction) -> MakeChange:
    return lambda: service.ComplaintChange(
        complaint_id=uuid_of(input.id, "Complaint"),
        version=input.version,
        action=action,
        note=input.note,
    )


@strawberry.type
class ComplaintQuery:
    @scoped_field(Scope.COMPLAINTS_READ, f"One complaint in your scope, else NOT_FOUND. {SCOPE}")
    async def complaint(
        self, info: Info, id: Annotated[strawberry.ID, described_argument(ID)]
    ) -> Complaint | None:
        row = await queries.get_complaint(
            db=info.context.db,
            principal=info.context.principal,
            complaint_id=uuid_of(id, "Complaint"),
        )
        return Complaint.from_row(row)

    @scoped_field(Scope.COMPLAINTS_READ, f"Complaints in your scope, newest first. {SCOPE}")
    async def complaints(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[
            ComplaintFilter | None, described_argument("Only the matching ones.")
        ] = None,
    ) -> Connection[Complaint] | None:
        page, count = await queries.list_complaints(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            filter=filter.to_filter() if filter else queries.ComplaintFilter(),
            page=PageArgs(first, after, last, before),
        )
        return Connection.build(page, Complaint.from_row, count)


@strawberry.type
class ComplaintMutation:
    @_writing(FILE)
    async def file_complaint(
        self, info: Info, input: Annotated[FileComplaintInput, described_argument("The complaint.")]
    ) -> ComplaintPayload:

        async def write(session: AsyncSession, ctx: Context) -> ComplaintRow:
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
            return await service.file_complaint(
                session=session,
                ring=ctx.key_ring,
                settings=ctx.settings,
                broker=ctx.state.broker,
                principal=ctx.principal,
                data=data,
            )

        return await mutation_payload(info, ComplaintPayload, write, ComplaintPayload.of)

    @_writing("Acknowledges an OPEN complaint (→ ACKNOWLEDGED)." + HANDLERS)
    async def acknowledge_complaint(self, info: Info, input: ActionArg) -> ComplaintPayload:
        return await _change(info, _action(input, ComplaintAction.ACKNOWLEDGE))

    @_writing(
        "Starts work on an ACKNOWLEDGED complaint (→ IN_PROGRESS); the caller takes "
        "it if it is unassigned." + HANDLERS
    )
    async def start_complaint_work(self, info: Info, input: ActionArg) -> ComplaintPayload:
        return await _change(info, _action(input, ComplaintAction.START_WORK))

    @_writing("Closes a RESOLVED complaint (→ CLOSED)." + HANDLERS)
    async def close_complaint(self, info: Info, input: ActionArg) -> ComplaintPayload:
        return await _change(info, _action(input, ComplaintAction.CLOSE))

    @_writing(
        "Hands an open, acknowledged or in-progress complaint to an agent or "
        "supervisor of its branch; the status stays. Admin or supervisor." + ERRORS
    )
    async def assign_complaint(
        self,
        info: Info,
        input: Annotated[AssignComplaintInput, described_argument("Who takes it.")],
    ) -> ComplaintPayload:
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

    @_writing(
        "Raises the severity (recomputing `dueAt`) and/or hands an active complaint "
        "to a supervisor; `escalationLevel` +1." + HANDLERS
    )
    async def escalate_complaint(
        self,
        info: Info,
        input: Annotated[EscalateComplaintInput, described_argument("The escalation.")],
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

    @_writing("Resolves an IN_PROGRESS complaint (→ RESOLVED) with its resolution." + HANDLERS)
    async def resolve_complaint(
        self,
        info: Info,
        input: Annotated[ResolveComplaintInput, described_argument("The resolution.")],
    ) -> ComplaintPayload:
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

    @_writing(
        "Reopens a RESOLVED or CLOSED complaint (→ IN_PROGRESS) with a reason: "
        "service staff or the complainant." + ERRORS
    )
    async def reopen_complaint(
        self, info: Info, input: Annotated[ReopenComplaintInput, described_argument("The reason.")]
    ) -> ComplaintPayload:
        return await _change(
            info,
            lambda: service.ComplaintChange(
                complaint_id=uuid_of(input.id, "Complaint"),
                version=input.version,
                action=ComplaintAction.REOPEN,
                note=input.reason,
            ),
        )

    @_writing(
        "The complainant rates a RESOLVED or CLOSED complaint 1 to 5, once (CONFLICT "
        "after)." + ERRORS
    )
    async def rate_complaint(
        self, info: Info, input: Annotated[RateComplaintInput, described_argument("The rating.")]
    ) -> ComplaintPayload:
        return await _change(
            info,
            lambda: service.ComplaintChange(
                complaint_id=uuid_of(input.id, "Complaint"),
                version=input.version,
                action=ComplaintAction.RATE,
                score=input.score,
            ),
        )
