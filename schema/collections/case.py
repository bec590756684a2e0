"""Collection cases, their contacts and repayment reminders as GraphQL types.

Amounts follow the collections policy rows (auth/policy_collections.py); a contact's notes
are the interaction's sealed notes, opened through ``sealed_field`` under the row
``CollectionContact.notes``. The card, customer and staff member come through DataLoaders.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from core.context import Info
from core.errors import BadUserInput
from core.money import yuan, yuan_or_none
from models.cards.statement import OverdueBucket
from models.collections.case import CollectionCase as CaseRow
from models.collections.case import CollectionCloseReason, CollectionStatus, ContactOutcome
from models.collections.case import CollectionContact as ContactRow
from models.collections.reminder import ReminderStatus
from models.collections.reminder import RepaymentReminder as ReminderRow
from models.customers.customer import RiskGrade
from models.service_desk.interaction import Interaction as InteractionRow
from resolvers.cards.loaders import CardByIdLoader
from resolvers.collections.loaders import (
    ContactInteractionLoader,
    ContactsByCaseLoader,
)
from resolvers.customers.loaders import CustomerByIdLoader
from resolvers.organisation.loaders import StaffUserByIdLoader
from schema.cards.card import Card
from schema.collections.enums import describe_collection_enums
from schema.customers.customer import CustomerFields, CustomerRef
from schema.organisation.organisation import StaffMember
from schema.policy_field import sealed_field, sensitive_field
from schema.relay import to_global_id

describe_collection_enums()
CONTACTS_SIZE = 10
CONTACTS_MAX = 50


def _interaction_of(root: CollectionContact) -> InteractionRow:
    assert root._interaction is not None
    return root._interaction


@strawberry.type(description="One collection contact on a case; contacts are never edited.")
class CollectionContact:
    outcome: ContactOutcome = strawberry.field(description="What it came to.")
    promise_date: date | None = strawberry.field(
        description="For a PROMISE_TO_PAY: the day promised (the bank's local day); else null."
    )
    occurred_at: datetime = strawberry.field(description="When it was made (ISO 8601, UTC).")
    _row: strawberry.Private[ContactRow]
    _interaction: strawberry.Private[InteractionRow | None]

    @sensitive_field("CollectionContact", "promiseAmount")
    def promise_amount(self) -> Decimal | None:
        return yuan_or_none(self._row.promise_amount_cents)

    notes = sealed_field("CollectionContact", "notes", "notes", row=_interaction_of)

    @strawberry.field(description="The collector who made it; null if not a staff member.")
    async def staff(self, info: Info) -> StaffMember | None:
        if self._row.staff_id is None:
            return None
        row = await info.context.loader(StaffUserByIdLoader).load(self._row.staff_id)
        return StaffMember.from_row(row) if row else None

    @strawberry.field(description="The interaction (kind COLLECTION) it was logged as.")
    def interaction_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Interaction", self._row.interaction_id))

    @classmethod
    def of(cls, row: ContactRow, interaction: InteractionRow | None) -> CollectionContact:
        return cls(
            outcome=ContactOutcome(row.outcome),
            promise_date=row.promise_date,
            occurred_at=row.occurred_at,
            _row=row,
            _interaction=interaction,
        )


@strawberry.type(
    description="A collection case (催收): one per overdue card, opened and closed by the "
    "card's standing (`cardcrm statements close`, repayments), worked by the branch's "
    "collectors."
)
class CollectionCase:
    id: strawberry.ID = strawberry.field(description="The case's global ID.")
    status: CollectionStatus = strawberry.field(description="Where it stands.")
    bucket: OverdueBucket = strawberry.field(description="The card's overdue bucket now.")
    opening_bucket: OverdueBucket = strawberry.field(
        description="The card's overdue bucket when the case was opened."
    )
    days_past_due: int = strawberry.field(description="The card's days past due now.")
    promise_date: date | None = strawberry.field(
        description="The day the customer last promised to pay by; null if never."
    )
    broken_promises: int = strawberry.field(
        description="How many promises passed their date unkept (each reopened the case)."
    )
    opened_at: datetime = strawberry.field(description="When it was opened (ISO 8601, UTC).")
    closed_at: datetime | None = strawberry.field(
        description="When it was closed (ISO 8601, UTC); null while open."
    )
    close_reason: CollectionCloseReason | None = strawberry.field(
        description="Why it was closed; null while open."
    )
    last_contact_at: datetime | None = strawberry.field(
        description="When a collector last contacted the customer on it; null if never."
    )
    version: int = strawberry.field(
        description="Starts at 1, +1 on every change (the sync's too); the mutations take it "
        "back (CONFLICT if it is no longer current)."
    )
    _row: strawberry.Private[CaseRow]

    @sensitive_field("CollectionCase", "overdueAmount")
    def overdue_amount(self) -> Decimal | None:
        """What is overdue now, in yuan: the unpaid minimum payments of the missed statements
        less the repayments since."""
        return yuan(self._row.overdue_cents)

    @sensitive_field("CollectionCase", "promiseAmount")
    def promise_amount(self) -> Decimal | None:
        return yuan_or_none(self._row.promise_amount_cents)

    @strawberry.field(description="The overdue card.")
    async def card(self, info: Info) -> Card | None:
        row = await info.context.loader(CardByIdLoader).load(self._row.card_id)
        return Card.from_row(row) if row else None

    @strawberry.field(description="The card's customer.")
    async def customer(self, info: Info) -> CustomerRef | None:
        row = await info.context.loader(CustomerByIdLoader).load(self._row.customer_id)
        return CustomerFields.from_row(row) if row else None

    @strawberry.field(description="The collector it is assigned to; null if unassigned.")
    async def assignee(self, info: Info) -> StaffMember | None:
        if self._row.assignee_id is None:
            return None
        row = await info.context.loader(StaffUserByIdLoader).load(self._row.assignee_id)
        return StaffMember.from_row(row) if row else None

    @strawberry.field(
        description=f"Its contacts, newest first (`first`: 1 to {CONTACTS_MAX}, default "
        f"{CONTACTS_SIZE})."
    )
    async def contacts(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description=f"How many, 1 to {CONTACTS_MAX}.")
        ] = CONTACTS_SIZE,
    ) -> list[CollectionContact]:
        if not 1 <= first <= CONTACTS_MAX:
            raise BadUserInput(f"`first` must be between 1 and {CONTACTS_MAX}", field="first")
        rows = await info.context.loader(ContactsByCaseLoader).load((self._row.id, first))
        interactions = await info.context.loader(ContactInteractionLoader).load_many(
            [row.interaction_id for row in rows]
        )
        return [CollectionContact.of(row, i) for row, i in zip(rows, interactions, strict=True)]

    @classmethod
    def from_row(cls, row: CaseRow) -> CollectionCase:
        return cls(
            id=strawberry.ID(to_global_id("CollectionCase", row.id)),
            status=CollectionStatus(row.status),
            bucket=OverdueBucket(row.bucket),
            opening_bucket=OverdueBucket(row.opening_bucket),
            days_past_due=row.days_past_due,
            promise_date=row.promise_date,
            broken_promises=row.broken_promises,
            opened_at=row.opened_at,
            closed_at=row.closed_at,
            close_reason=CollectionCloseReason(row.close_reason) if row.close_reason else None,
            last_contact_at=row.last_contact_at,
            version=row.version,
            _row=row,
        )


@strawberry.type(description="A repayment reminder planned before a statement's due date.")
class RepaymentReminder:
    id: strawberry.ID = strawberry.field(description="The reminder's ID.")
    cycle_end: date = strawberry.field(description="The statement's date (its cycle's end).")
    due_date: date = strawberry.field(description="The statement's due date.")
    remind_on: date = strawberry.field(description="The day it goes out (bank's local day).")
    channel: str = strawberry.field(
        description="The consented channel it uses: `sms`, `push`, `email` or `phone`."
    )
    risk_grade: RiskGrade = strawberry.field(
        description="The customer's risk grade when it was planned (A–E): worse grades get "
        "more reminders, earlier."
    )
    status: ReminderStatus = strawberry.field(description="Where it stands.")
    created_at: datetime = strawberry.field(description="When it was planned (ISO 8601, UTC).")
    _row: strawberry.Private[ReminderRow]

    @sensitive_field("RepaymentReminder", "minimumPayment")
    def minimum_payment(self) -> Decimal | None:
        return yuan(self._row.minimum_payment_cents)

    @strawberry.field(description="The card whose statement it is about.")
    async def card(self, info: Info) -> Card | None:
        row = await info.context.loader(CardByIdLoader).load(self._row.card_id)
        return Card.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: ReminderRow) -> RepaymentReminder:
        return cls(
            id=strawberry.ID(to_global_id("RepaymentReminder", row.id)),
            cycle_end=row.cycle_end,
            due_date=row.due_date,
            remind_on=row.remind_on,
            channel=row.channel,
            risk_grade=RiskGrade(row.risk_grade),
            status=ReminderStatus(row.status),
            created_at=row.created_at,
            _row=row,
        )
