"""The collection queue: its cases and repayment reminders, and the mutations that work a case
(each a thin call into ``resolvers.collections.operations``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Scope
from core.money import cents_of
from models.cards.statement import OverdueBucket
from models.collections.case import CollectionCase as CaseRow
from models.collections.case import CollectionStatus, ContactOutcome
from models.collections.reminder import ReminderStatus
from models.columns import utcnow
from models.service_desk.interaction import InteractionChannel
from resolvers.collections import operations, queries
from resolvers.pagination import PageArgs
from schema.collections.case import CollectionCase, RepaymentReminder
from schema.common import UserError, mutation_payload, payload_field
from schema.described import described_argument, optional_field
from schema.relay import After, Connection, First, uuid_of
from schema.scope_field import scoped_field

SCOPE = (
    "Staff only: a supervisor's or agent's branch; every branch for risk officers, admins and "
    "auditors."
)
VERSION = "The case's `version` you last read; CONFLICT if it has changed since."
ERRORS = " userErrors: NOT_FOUND outside your scope, CONFLICT, FORBIDDEN, BAD_USER_INPUT."


@strawberry.input(description="Narrows the collection queue.")
class CollectionCaseFilter:
    bucket: OverdueBucket | None = optional_field("Only cases whose card is in this bucket now.")
    assignee: strawberry.ID | None = optional_field("Only cases assigned to this StaffMember ID.")
    status: CollectionStatus | None = optional_field("Only cases in this status.")
    card_id: strawberry.ID | None = optional_field("Only the cases of this card (a Card ID).")

    def to_filter(self) -> queries.CaseFilter:
        return queries.CaseFilter(
            bucket=self.bucket,
            assignee_id=uuid_of(self.assignee, "StaffMember", field="filter.assignee")
            if self.assignee
            else None,
            status=self.status,
            card_id=uuid_of(self.card_id, "Card", field="filter.cardId") if self.card_id else None,
        )


@strawberry.input(description="Narrows the list of repayment reminders.")
class RepaymentReminderFilter:
    card_id: strawberry.ID | None = optional_field("Only this card's (a Card ID).")
    status: ReminderStatus | None = optional_field("Only reminders in this status.")
    remind_on: date | None = optional_field("Only those going out on this day.")

    def to_filter(self) -> queries.ReminderFilter:
        return queries.ReminderFilter(
            card_id=uuid_of(self.card_id, "Card", field="filter.cardId") if self.card_id else None,
            status=self.status,
            remind_on=self.remind_on,
        )


@strawberry.input(description="Who works a collection case.")
class AssignCollectionCaseInput:
    case_id: strawberry.ID = strawberry.field(description="The case (a `CollectionCase.id`).")
    assignee_id: strawberry.ID = strawberry.field(
        description="An active staff member of the case's branch (a `StaffMember.id`)."
    )
    version: int = strawberry.field(description=VERSION)


@strawberry.input(description="A collection contact made with the case's customer, now.")
class LogCollectionContactInput:
    case_id: strawberry.ID = strawberry.field(description="The case (a `CollectionCase.id`).")
    version: int = strawberry.field(description=VERSION)
    channel: InteractionChannel = strawberry.field(description="How the customer was contacted.")
    outcome: ContactOutcome = strawberry.field(description="What it came to.")
    notes: str | None = optional_field("Notes, at most 4,000 characters; stored encrypted.")
    promise_amount: Decimal | None = optional_field(
        "For PROMISE_TO_PAY (required then, else not allowed): the amount promised, in yuan, "
        "more than 0."
    )
    promise_date: date | None = optional_field(
        "For PROMISE_TO_PAY (required then, else not allowed): the day promised, today (the "
        "bank's local day) or later."
    )


@strawberry.type(description="The outcome of a collection case mutation.")
class CollectionCasePayload:
    case: CollectionCase | None = payload_field(
        "The case as it is now; null when there are userErrors."
    )
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, row: CaseRow) -> CollectionCasePayload:
        return cls(case=CollectionCase.from_row(row))


@strawberry.type
class CollectionQuery:
    @scoped_field(
        Scope.COLLECTIONS_READ,
        f"The collection queue: cases in your scope, newest first. {SCOPE}",
        staff_only=True,
    )
    async def collection_cases(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            CollectionCaseFilter | None, described_argument("Only the matching ones.")
        ] = None,
    ) -> Connection[CollectionCase] | None:
        page, count = await queries.list_cases(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            filter=filter.to_filter() if filter else queries.CaseFilter(),
            page=PageArgs(first, after),
        )
        return Connection.build(page, CollectionCase.from_row, count)

    @scoped_field(
        Scope.COLLECTIONS_READ,
        "Repayment reminders planned before due dates (`cardcrm collections remind`), newest "
        f"first. {SCOPE}",
        staff_only=True,
    )
    async def repayment_reminders(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            RepaymentReminderFilter | None, described_argument("Only the matching ones.")
        ] = None,
    ) -> Connection[RepaymentReminder] | None:
        page, count = await queries.list_reminders(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            filter=filter.to_filter() if filter else queries.ReminderFilter(),
            page=PageArgs(first, after),
        )
        return Connection.build(page, RepaymentReminder.from_row, count)


@strawberry.type
class CollectionMutation:
    @scoped_field(
        Scope.COLLECTIONS_WRITE,
        "Assigns a case to a collector: a supervisor for their branch's cases, an admin any; "
        "the assignee must be an active staff member of the case's branch; audited." + ERRORS,
        staff_only=True,
    )
    async def assign_collection_case(
        self,
        info: Info,
        input: Annotated[AssignCollectionCaseInput, described_argument("The assignment.")],
    ) -> CollectionCasePayload:
        async def write(session: AsyncSession, ctx: Context) -> CaseRow:
            return await operations.assign_case(
                session=session,
                principal=ctx.principal,
                case_id=uuid_of(input.case_id, "CollectionCase", field="caseId"),
                assignee_id=uuid_of(input.assignee_id, "StaffMember", field="assigneeId"),
                version=input.version,
                audit_event=events_by(ctx),
                now=utcnow(),
            )

        return await mutation_payload(info, CollectionCasePayload, write, CollectionCasePayload.of)

    @scoped_field(
        Scope.COLLECTIONS_WRITE,
        "Logs a collection contact on a case (an interaction of kind COLLECTION, notes "
        "encrypted): the branch's agents and supervisors. PROMISE_TO_PAY sets the case "
        "PROMISED; a promise whose date passes unkept reopens it. The collection contact rules "
        "apply, not the marketing consent: no contact 21:00–08:00 local time, at most 3 a "
        "customer and day (configurable); outside them CONTACT_NOT_ALLOWED and nothing is "
        "written. Audited." + ERRORS,
        staff_only=True,
    )
    async def log_collection_contact(
        self,
        info: Info,
        input: Annotated[LogCollectionContactInput, described_argument("The contact.")],
    ) -> CollectionCasePayload:
        async def write(session: AsyncSession, ctx: Context) -> CaseRow:
            data = operations.NewContact(
                case_id=uuid_of(input.case_id, "CollectionCase", field="caseId"),
                version=input.version,
                channel=input.channel,
                outcome=input.outcome,
                notes=input.notes,
                promise_amount_cents=cents_of("promiseAmount", input.promise_amount)
                if input.promise_amount is not None
                else None,
                promise_date=input.promise_date,
            )
            return await operations.log_contact(
                session=session,
                ring=ctx.key_ring,
                settings=ctx.settings,
                principal=ctx.principal,
                data=data,
                audit_event=events_by(ctx),
                now=utcnow(),
            )

        return await mutation_payload(info, CollectionCasePayload, write, CollectionCasePayload.of)
