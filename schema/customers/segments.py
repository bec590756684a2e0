"""Segments you can act on: ``segmentCounts`` and saved segments (each field a thin call into
``resolvers.customers.segment_counts`` or ``resolvers.customers.saved_segments``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Scope
from models.customers.segment import SavedSegment as SegmentRow
from resolvers.customers import saved_segments as service
from resolvers.customers.segment_counts import GroupCount, count_matching, segment_counts
from resolvers.pagination import PageArgs
from schema.common import UserError, mutation_payload, payload_field
from schema.customers.filter import CustomerFilter, FilterShown, to_filter
from schema.described import described_argument
from schema.relay import After, Connection, First, to_global_id, uuid_of
from schema.scope_field import scoped_field

SUPPRESSED = (
    "Null when suppressed: for marketers, a figure from 1 to CARDCRM_STATS_MIN_GROUP_SIZE - 1 "
    "(default 5) customers is hidden."
)
ERRORS = " userErrors: NOT_FOUND, CONFLICT, FORBIDDEN, BAD_USER_INPUT."
VERSION = "The segment's `version` you last read; CONFLICT if it has changed since."


@strawberry.type(description="The customers of one group (a segment, a stage, a tier).")
class GroupCountEntry:
    key: str = strawberry.field(
        description="The group: a segment code, a lifecycle stage or a tier code (lower case)."
    )
    customers: int | None = strawberry.field(description="Its matching customers. " + SUPPRESSED)

    @classmethod
    def of(cls, group: GroupCount) -> GroupCountEntry:
        return cls(key=group.key, customers=group.customers)


@strawberry.type(description="How many customers in your scope a filter matches, and how.")
class SegmentCounts:
    customers: int | None = strawberry.field(description="All matching customers. " + SUPPRESSED)
    min_group_size: int = strawberry.field(
        description="The smallest figure shown to you (0: your counts are exact)."
    )
    by_segment: list[GroupCountEntry] = strawberry.field(
        description="Per segment the matching customers are in (one customer counts in each of "
        "their segments), by code."
    )
    by_lifecycle_stage: list[GroupCountEntry] = strawberry.field(
        description="Per lifecycle stage, by code."
    )
    by_tier: list[GroupCountEntry] = strawberry.field(description="Per tier, by code.")


@strawberry.type(description="A named customer filter that offers (and campaigns) target.")
class SavedSegment:
    id: strawberry.ID = strawberry.field(description="The segment's global ID (SavedSegment).")
    name: str = strawberry.field(description="Unique across the bank; offers target it by name.")
    description: str | None = strawberry.field(description="What it is for; null: none.")
    filter: FilterShown = strawberry.field(description="Its conditions, as validated when saved.")
    created_at: datetime = strawberry.field(description="When it was saved (ISO 8601, UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (ISO 8601, UTC).")
    version: int = strawberry.field(description="Pass it back to change or delete the segment.")
    _row: strawberry.Private[SegmentRow]

    @strawberry.field(
        description="How many customers in your scope it matches now. " + SUPPRESSED + " "
        "FORBIDDEN if a condition is on a field you may not see."
    )
    async def count(self, info: Info) -> int | None:
        ctx = info.context
        return await count_matching(
            ctx.db, ctx.principal, ctx.settings, service.filter_of(self._row)
        )

    @classmethod
    def from_row(cls, row: SegmentRow) -> SavedSegment:
        return cls(
            id=strawberry.ID(to_global_id("SavedSegment", row.id)),
            name=row.name,
            description=row.description,
            filter=FilterShown.of(service.filter_of(row)),
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
            _row=row,
        )


@strawberry.input(description="A new saved segment.")
class SaveSegmentInput:
    name: str = strawberry.field(
        description="1 to 80 characters, unique across the bank (CONFLICT otherwise); no "
        "personal data."
    )
    filter: CustomerFilter = strawberry.field(
        description="Its conditions; one on a field you may not see is FORBIDDEN."
    )
    description: str | None = strawberry.field(
        default=None, description="What it is for, at most 500 characters; no personal data."
    )


@strawberry.input(description="Changes to a saved segment; what is left out stays.")
class UpdateSegmentInput:
    id: strawberry.ID = strawberry.field(description="The segment (a SavedSegment ID).")
    version: int = strawberry.field(description=VERSION)
    name: str | None = strawberry.field(
        default=None, description="A new name (with `description`: both are set together)."
    )
    description: str | None = strawberry.field(
        default=None, description="The new description, given with `name`."
    )
    filter: CustomerFilter | None = strawberry.field(
        default=None, description="New conditions, replacing the old ones whole."
    )


@strawberry.input(description="A saved segment to delete.")
class DeleteSegmentInput:
    id: strawberry.ID = strawberry.field(description="The segment (a SavedSegment ID).")
    version: int = strawberry.field(description=VERSION)


@strawberry.type(description="The result of a saved-segment mutation.")
class SegmentPayload:
    segment: SavedSegment | None = payload_field("The segment now; null on userErrors.")
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, row: SegmentRow) -> SegmentPayload:
        return cls(segment=SavedSegment.from_row(row))


@strawberry.type(description="The result of `deleteSegment`.")
class DeleteSegmentPayload:
    deleted_id: strawberry.ID | None = payload_field("The deleted segment's ID; null on errors.")
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)


@strawberry.type
class SegmentQuery:
    @scoped_field(
        Scope.ANALYTICS_READ,
        "How many customers in your scope match the filter, by segment, stage and tier "
        "(analytics readers; marketers' figures suppressed below the minimum group size).",
        staff_only=True,
    )
    async def segment_counts(
        self,
        info: Info,
        filter: Annotated[
            CustomerFilter | None, described_argument("The customers to count; null: all.")
        ] = None,
    ) -> SegmentCounts | None:
        ctx = info.context
        counts = await segment_counts(ctx.db, ctx.principal, ctx.settings, to_filter(filter))
        return SegmentCounts(
            customers=counts.customers,
            min_group_size=counts.min_group_size,
            by_segment=[GroupCountEntry.of(group) for group in counts.by_segment],
            by_lifecycle_stage=[GroupCountEntry.of(group) for group in counts.by_stage],
            by_tier=[GroupCountEntry.of(group) for group in counts.by_tier],
        )

    @scoped_field(
        Scope.ANALYTICS_READ,
        "The saved segments, newest first (analytics readers).",
        staff_only=True,
    )
    async def saved_segments(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[SavedSegment] | None:
        page, count = await service.list_segments(
            db=info.context.db, settings=info.context.settings, page=PageArgs(first, after)
        )
        return Connection.build(page, SavedSegment.from_row, count)


@strawberry.type
class SegmentMutation:
    @scoped_field(
        Scope.SEGMENTS_WRITE,
        "Saves a customer filter under a name (marketers, supervisors, admins); audited." + ERRORS,
        staff_only=True,
    )
    async def save_segment(
        self, info: Info, input: Annotated[SaveSegmentInput, described_argument("The segment.")]
    ) -> SegmentPayload:
        async def write(session: AsyncSession, ctx: Context) -> SegmentRow:
            return await service.save_segment(
                session=session,
                principal=ctx.principal,
                text=service.SegmentText(input.name, input.description),
                data=to_filter(input.filter),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, SegmentPayload, write, SegmentPayload.of)

    @scoped_field(
        Scope.SEGMENTS_WRITE,
        "Changes a saved segment from the version last read: its author or an admin; "
        "audited." + ERRORS,
        staff_only=True,
    )
    async def update_segment(
        self, info: Info, input: Annotated[UpdateSegmentInput, described_argument("The changes.")]
    ) -> SegmentPayload:
        async def write(session: AsyncSession, ctx: Context) -> SegmentRow:
            text = None
            if input.name is not None:
                text = service.SegmentText(input.name, input.description)
            return await service.update_segment(
                session=session,
                principal=ctx.principal,
                segment_id=uuid_of(input.id, "SavedSegment"),
                version=input.version,
                text=text,
                data=None if input.filter is None else to_filter(input.filter),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, SegmentPayload, write, SegmentPayload.of)

    @scoped_field(
        Scope.SEGMENTS_WRITE,
        "Deletes a saved segment from the version last read: its author or an admin; "
        "audited." + ERRORS,
        staff_only=True,
    )
    async def delete_segment(
        self, info: Info, input: Annotated[DeleteSegmentInput, described_argument("The segment.")]
    ) -> DeleteSegmentPayload:
        async def write(session: AsyncSession, ctx: Context) -> Any:
            return await service.delete_segment(
                session=session,
                principal=ctx.principal,
                segment_id=uuid_of(input.id, "SavedSegment"),
                version=input.version,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(
            info,
            DeleteSegmentPayload,
            write,
            lambda deleted: DeleteSegmentPayload(
                deleted_id=strawberry.ID(to_global_id("SavedSegment", deleted))
            ),
        )
