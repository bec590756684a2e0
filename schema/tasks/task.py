"""A staff task as a GraphQL type, with its enums.

The reasons and offers follow the tasks policy rows (auth/policy_tasks.py); the customer
and the assignee come through DataLoaders, so a page of tasks reads each in one query.
``overdue`` is derived: open and due before the bank's local today.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry.types.enum import has_enum_definition

from core.context import Info
from models.tasks.task import StaffTask as TaskRow
from models.tasks.task import TaskKind, TaskStatus
from resolvers.customers.loaders import CustomerByIdLoader
from resolvers.organisation.loaders import StaffUserByIdLoader
from resolvers.tasks.operations import TaskOutcome
from resolvers.tasks.queries import bank_today, is_overdue
from schema.customers.customer import CustomerFields, CustomerRef
from schema.organisation.organisation import StaffMember
from schema.policy_field import sensitive_field
from schema.relay import to_global_id

DESCRIPTIONS: dict[type[Enum], tuple[str, dict[str, str]]] = {
    TaskKind: (
        "What a staff task is for.",
        {
            "COMPLAINT_FOLLOW_UP": "A follow-up call (回访) after a complaint was resolved.",
            "NEW_CARD_FOLLOW_UP": "A follow-up call (回访) after a card was issued.",
            "BIRTHDAY_CARE": "A birthday greeting (关怀) for a consenting customer.",
            "HOLIDAY_CARE": "A holiday greeting (关怀) for a consenting customer of a higher tier.",
            "RETENTION": "A retention call for a customer who turned at risk (see `reasons`, "
            "`offerIds`).",
            "REACTIVATION": "A reactivation call for a customer who turned dormant.",
            "REPAYMENT_REMINDER": "A repayment reminder call planned for the day by phone.",
        },
    ),
    TaskStatus: (
        "Where a staff task stands.",
        {
            "OPEN": "To do.",
            "DONE": "Done: the call was logged as an interaction.",
            "CANCELLED": "No longer needed.",
        },
    ),
    TaskOutcome: (
        "What a task's call came to.",
        {
            "REACHED": "The customer was reached.",
            "OFFER_ACCEPTED": "The customer accepted an offer.",
            "DECLINED": "The customer declined.",
            "NO_ANSWER": "Nobody answered.",
            "WRONG_NUMBER": "The number does not reach the customer.",
        },
    ),
}


def describe_task_enums() -> None:
    for enum, (description, values) in DESCRIPTIONS.items():
        if not has_enum_definition(enum):
            strawberry.enum(enum)
        definition = enum.__strawberry_definition__  # type: ignore[attr-defined]
        definition.description = definition.description or description
        for value in definition.values:
            value.description = value.description or values.get(value.name)


describe_task_enums()


def _offer_id(value: str) -> strawberry.ID:
    return strawberry.ID(to_global_id("Offer", uuid.UUID(str(value))))


@strawberry.type(
    description="A staff task: one thing to do for one customer, generated daily by "
    "`cardcrm tasks generate` and worked by the branch's agents."
)
class Task:
    id: strawberry.ID = strawberry.field(description="The task's global ID.")
    kind: TaskKind = strawberry.field(description="What it is for.")
    status: TaskStatus = strawberry.field(description="Where it stands.")
    due_on: date = strawberry.field(description="The day it is due (the bank's local day).")
    completed_at: datetime | None = strawberry.field(
        description="When it was done (ISO 8601, UTC); null while open."
    )
    created_at: datetime = strawberry.field(description="When it was made (ISO 8601, UTC).")
    version: int = strawberry.field(
        description="Starts at 1, +1 on every change; the mutations take it back (CONFLICT if "
        "it is no longer current)."
    )
    _row: strawberry.Private[TaskRow]

    @strawberry.field(description="Open and due before today (the bank's local day).")
    def overdue(self, info: Info) -> bool:
        return is_overdue(self._row, bank_today(info.context.settings))

    @sensitive_field("Task", "reasons")
    def reasons(self) -> list[str] | None:
        """Why it was made: for a retention or reactivation call the customer's churn reasons
        at their last evaluation; else what happened (e.g. `complaint_resolved`)."""
        return list(self._row.reasons)

    @sensitive_field("Task", "offerIds")
    def offer_ids(self) -> list[strawberry.ID] | None:
        """The offers the customer holds open (Offer IDs), to make on a retention call."""
        return [_offer_id(value) for value in self._row.offer_ids]

    @strawberry.field(description="The customer it is about.")
    async def customer(self, info: Info) -> CustomerRef | None:
        row = await info.context.loader(CustomerByIdLoader).load(self._row.customer_id)
        return CustomerFields.from_row(row) if row else None

    @strawberry.field(description="The agent it is assigned to; null while unassigned.")
    async def assignee(self, info: Info) -> StaffMember | None:
        if self._row.assignee_id is None:
            return None
        row = await info.context.loader(StaffUserByIdLoader).load(self._row.assignee_id)
        return StaffMember.from_row(row) if row else None

    @strawberry.field(
        description="The interaction (an Interaction ID) the task's call was logged as; null "
        "while open."
    )
    def interaction_id(self) -> strawberry.ID | None:
        if self._row.interaction_id is None:
            return None
        return strawberry.ID(to_global_id("Interaction", self._row.interaction_id))

    @classmethod
    def from_row(cls, row: TaskRow) -> Task:
        return cls(
            id=strawberry.ID(to_global_id("Task", row.id)),
            kind=TaskKind(row.kind),
            status=TaskStatus(row.status),
            due_on=row.due_on,
            completed_at=row.completed_at,
            created_at=row.created_at,
            version=row.version,
            _row=row,
        )
