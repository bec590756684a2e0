"""Interactions: every contact with a customer. Notes are C2 (the author sees them clear)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import Context, Info
from core.identity import Scope
from models.service_desk.interaction import Interaction as InteractionRow
from models.service_desk.interaction import InteractionChannel, InteractionKind
from resolvers.organisation.loaders import StaffUserByIdLoader
from resolvers.pagination import PageArgs
from resolvers.service_desk import interactions as service
from resolvers.service_desk.interactions import Direction
from schema.common import UserError, mutation_payload, payload_field
from schema.described import described_field, optional_field
from schema.organisation.organisation import StaffMember
from schema.policy_field import sealed_field
from schema.relay import After, Connection, First, Node, to_global_id, uuid_of
from schema.scope_field import scoped_field

LOG = (
    "Records a contact with a customer in your scope (admin, supervisor or agent). An "
    "outbound MARKETING contact needs the customer's consent for its channel (SMS, EMAIL, "
    "PHONE or APP) and must fall outside their do-not-disturb hours. "
    "userErrors: FORBIDDEN, NOT_FOUND, BAD_USER_INPUT."
)


@strawberry.type(description="One contact with a customer, by any channel.")
class Interaction(Node):
    channel: InteractionChannel = described_field("How the contact was made.")
    direction: Direction = described_field("Who reached out: the customer (in) or the bank (out).")
    kind: InteractionKind = described_field("What the contact was for.")
    subject: str = described_field("A one-line summary, in clear; at most 200 characters.")
    outcome: str | None = described_field("What came of it, at most 200 characters; null if none.")
    satisfaction: int | None = described_field(
        "The customer's score, 1 to 5 (survey scores count in CSAT); null if none."
    )
    complaint_id: strawberry.ID | None = described_field(
        "The complaint it was about (a Complaint ID); null if none."
    )
    occurred_at: datetime = described_field("When the contact took place (ISO 8601, UTC).")
    _row: strawberry.Private[InteractionRow]
    _owner: strawberry.Private[str | None]

    notes = sealed_field("Interaction", "notes", "notes")

    @strawberry.field(description="The staff member who logged it; null if unknown.")
    async def staff(self, info: Info) -> StaffMember | None:
        if self._row.staff_id is None:
            return None
        row = await info.context.loader(StaffUserByIdLoader).load(self._row.staff_id)
        return StaffMember.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: InteractionRow) -> Interaction:
        return cls(
            id=to_global_id("Interaction", row.id),
            channel=InteractionChannel(row.channel),
            direction=Direction(row.direction),
            kind=InteractionKind(row.kind),
            subject=row.subject,
            outcome=row.outcome,
            satisfaction=row.satisfaction,
            complaint_id=to_global_id("Complaint", row.complaint_id) if row.complaint_id else None,
            occurred_at=row.occurred_at,
            _row=row,
            _owner=str(row.staff_id) if row.staff_id else None,
        )


@strawberry.input(description="Narrows an interaction list; every condition given must hold.")
class InteractionFilter:
    customer_id: strawberry.ID | None = optional_field("Only this customer's (a Customer ID).")
    channel: InteractionChannel | None = optional_field("Only contacts over this channel.")
    kind: InteractionKind | None = optional_field("Only contacts of this kind.")
    since: datetime | None = optional_field(
        "Occurred at or after this instant (with a UTC offset)."
    )
    until: datetime | None = optional_field("Occurred before this instant (with a UTC offset).")

    def to_filter(self) -> service.InteractionFilter:
        return service.InteractionFilter(
            customer_id=uuid_of(self.customer_id, "Customer", field="filter.customerId")
            if self.customer_id
            else None,
            channel=self.channel,
            kind=self.kind,
            since=self.since,
            until=self.until,
        )


@strawberry.input(description="A contact with a customer, to record.")
class LogInteractionInput:
    customer_id: strawberry.ID = described_field("The customer (a Customer ID in your scope).")
    channel: InteractionChannel = described_field("How the contact was made.")
    direction: Direction = described_field("Who reached out: the customer (in) or the bank (out).")
    kind: InteractionKind = described_field("What the contact was for.")
    subject: str = described_field("A one-line summary; required, at most 200 characters.")
    notes: str | None = optional_field("Free text, at most 4,000 characters; stored encrypted.")
    outcome: str | None = optional_field("What came of it, at most 200 characters.")
    satisfaction: int | None = optional_field("The customer's score, a whole number from 1 to 5.")
    complaint_id: strawberry.ID | None = optional_field(
        "One of this customer's complaints it was about (a Complaint ID)."
    )
    occurred_at: datetime | None = optional_field(
        "When it took place, with a UTC offset; now if left out; not in the future (5 minutes' "
        "clock skew allowed)."
    )


@strawberry.type(description="The outcome of `logInteraction`.")
class LogInteractionPayload:
    interaction: Interaction | None = payload_field(
        "The recorded interaction; null when there are userErrors."
    )
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, row: InteractionRow) -> LogInteractionPayload:
        return cls(interaction=Interaction.from_row(row))


@strawberry.type
class InteractionQuery:
    @scoped_field(
        Scope.INTERACTIONS_READ,
        "Interactions of customers in your scope, most recent (`occurredAt`) first.",
    )
    async def interactions(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            InteractionFilter | None, strawberry.argument(description="Only the matching ones.")
        ] = None,
    ) -> Connection[Interaction] | None:
        page, count = await service.list_interactions(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            filter=filter.to_filter() if filter else service.InteractionFilter(),
            page=PageArgs(first=first, after=after),
        )
        return Connection.build(page, Interaction.from_row, count)


@strawberry.type
class InteractionMutation:
    @scoped_field(Scope.INTERACTIONS_WRITE, LOG)
    async def log_interaction(
        self,
        info: Info,
        input: Annotated[LogInteractionInput, strawberry.argument(description="The contact.")],
    ) -> LogInteractionPayload:

        async def write(session: AsyncSession, ctx: Context) -> InteractionRow:
            data = service.NewInteraction(
                customer_id=uuid_of(input.customer_id, "Customer", field="customerId"),
                channel=input.channel,
                direction=input.direction,
                kind=input.kind,
                subject=input.subject,
                notes=input.notes,
                outcome=input.outcome,
                satisfaction=input.satisfaction,
                occurred_at=input.occurred_at,
                complaint_id=uuid_of(input.complaint_id, "Complaint", field="complaintId")
                if input.complaint_id
                else None,
            )
            return await service.log_interaction(
                session=session,
                ring=ctx.key_ring,
                settings=ctx.settings,
                principal=ctx.principal,
                data=data,
            )

        return await mutation_payload(info, LogInteractionPayload, write, LogInteractionPayload.of)
