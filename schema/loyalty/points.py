"""A customer's points as the API shows them: the balance, what expires soon and the
ledger's history (``Customer.points``, contributed by ``schema.loyalty.customer_fields``)."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from core.context import Info
from models.loyalty.ledger import PointsEntry as PointsEntryRow
from models.loyalty.ledger import PointsKind
from resolvers.loyalty.loaders import (
    HistoryKey,
    PointsBalanceByCustomerLoader,
    PointsEntryCountByCustomerLoader,
    PointsExpiringByCustomerLoader,
    PointsHistoryByCustomerLoader,
)
from resolvers.pagination import PageArgs
from schema.relay import After, Connection, First


@strawberry.type(description="Unspent points that stop being valid at one instant.")
class PointsExpiry:
    points: int = strawberry.field(description="How many points, all still unspent.")
    at: datetime = strawberry.field(
        description="When they expire: the first instant they are no longer valid (UTC)."
    )


@strawberry.type(description="One entry of the points ledger; the balance is their sum.")
class PointsEntry:
    kind: PointsKind = strawberry.field(description="What the entry did.")
    points: int = strawberry.field(
        description="Signed: positive for points earned, negative for points taken."
    )
    occurred_at: datetime = strawberry.field(
        description="When it took effect: the purchase's or refund's time, the redemption's, "
        "or the expiry's cut-off."
    )
    expires_at: datetime | None = strawberry.field(
        description="For earned points: when they expire (the first instant no longer valid)."
    )

    @classmethod
    def from_row(cls, row: PointsEntryRow) -> PointsEntry:
        return cls(
            kind=PointsKind(row.kind),
            points=row.points,
            occurred_at=row.occurred_at,
            expires_at=row.expires_at,
        )


@strawberry.type(description="A customer's points (积分): a ledger, never a stored balance.")
class Points:
    _customer_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The sum of the customer's ledger entries.")
    async def balance(self, info: Info) -> int:
        return int(await info.context.loader(PointsBalanceByCustomerLoader).load(self._customer_id))

    @strawberry.field(
        description="Unspent points expiring within the configured window (90 days unless "
        "configured), soonest first; oldest points are spent first."
    )
    async def expiring_soon(self, info: Info) -> list[PointsExpiry]:
        loader = info.context.loader(PointsExpiringByCustomerLoader)
        return [
            PointsExpiry(points=e.points, at=e.at) for e in await loader.load(self._customer_id)
        ]

    @strawberry.field(description="The ledger's entries, newest first.")
    async def history(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[PointsEntry]:
        ctx = info.context
        args = PageArgs(first=first, after=after).validated(
            ctx.settings.default_page_size, ctx.settings.max_page_size
        )
        key = HistoryKey(self._customer_id, args.first or 0, after)
        page = await ctx.loader(PointsHistoryByCustomerLoader).load(key)

        async def count() -> int:
            return int(await ctx.loader(PointsEntryCountByCustomerLoader).load(self._customer_id))

        return Connection.build(page, PointsEntry.from_row, count)
