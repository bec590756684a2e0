"""Interactions: every contact with a customer. Notes are C2 (the author sees them clear)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.context import Info
from auth.scopes import Scope
from models.interaction import Interaction as InteractionRow
from models.interaction import InteractionChannel, InteractionKind
from models.sealing import read_field
from resolvers import interaction as service
from resolvers.interaction import Direction
from resolvers.pagination import PageArgs
from schema.common import UserError, run_mutation
from schema.organisation import StaffMember
from schema.policy_field import scoped_field, sensitive_field
from schema.relay import Connection, Node, to_global_id, uuid_of


@strawberry.type(description="One contact with a customer, by any channel.")
class Interaction(Node):
    channel: InteractionChannel
    direction: Direction
    kind: InteractionKind
    subject: str
    outcome: str | None
    satisfaction: int | None
    complaint_id: strawberry.ID | None
    occurred_at: datetime
    _row: strawberry.Private[InteractionRow]
    _owner: strawberry.Private[str | None]

    @sensitive_field("Interaction", "notes")
    def notes(self, info: Info) -> str | None:
        return read_field(info.context.key_ring, self._row, "notes")

    @strawberry.field(description="Who logged it.")
    async def staff(self, info: Info) -> StaffMember | None:
        if self._row.staff_id is None:
            return None
        row = await info.context.loaders.staff_user_by_id.load(self._row.staff_id)
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


@strawberry.input
class InteractionFilter:
    customer_id: strawberry.ID | None = None
    channel: InteractionChannel | None = None
    kind: InteractionKind | None = None
    since: datetime | None = None
    until: datetime | None = None

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


@strawberry.input
class LogInteractionInput:
    customer_id: strawberry.ID
    channel: InteractionChannel
    direction: Direction
    kind: InteractionKind
    subject: str
    notes: str | None = None
    outcome: str | None = None
    satisfaction: int | None = None
    complaint_id: strawberry.ID | None = None
    occurred_at: datetime | None = None


@strawberry.type
class LogInteractionPayload:
    interaction: Interaction | None
    user_errors: list[UserError]


@strawberry.type
class InteractionQuery:
    @scoped_field(Scope.INTERACTIONS_READ, "Interactions of customers in your scope, newest first.")
    async def interactions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: InteractionFilter | None = None,
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
    @strawberry.mutation(description="Records a contact; marketing contacts obey consent and DND.")
    async def log_interaction(
        self, info: Info, input: LogInteractionInput
    ) -> LogInteractionPayload:
        ctx = info.context

        async def work() -> LogInteractionPayload:
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
            async with ctx.db.exclusive() as session:
                row = await service.log_interaction(
                    session=session,
                    ring=ctx.key_ring,
                    settings=ctx.settings,
                    principal=ctx.principal,
                    data=data,
                )
            return LogInteractionPayload(interaction=Interaction.from_row(row), user_errors=[])

        return await run_mutation(
            work, lambda e: LogInteractionPayload(interaction=None, user_errors=e)
        )
