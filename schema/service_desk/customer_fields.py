"""What the service desk adds to the Customer type: the customer's interactions and complaints.

``schema.graph`` assembles Customer from these parts and the customers' own; a field here gets
the customer's own part as ``self`` and reads only its ``_row``.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated

import strawberry

from core.context import Info
from core.identity import Scope
from models.customers.customer import Customer as CustomerRow
from resolvers.pagination import PageArgs
from resolvers.service_desk import complaint_queries as queries
from resolvers.service_desk.complaint_loaders import (
    ComplaintCountByCustomerLoader,
    ComplaintPageKey,
    ComplaintPagesByCustomerLoader,
)
from resolvers.service_desk.interactions import InteractionFilter as InteractionFilterData
from resolvers.service_desk.loaders import (
    InteractionCountByCustomerLoader,
    InteractionPageKey,
    InteractionPagesByCustomerLoader,
)
from schema.relay import After, Connection, First
from schema.scope_field import scoped_field
from schema.service_desk.complaint import Complaint
from schema.service_desk.complaint_operations import ComplaintFilter
from schema.service_desk.interaction import Interaction, InteractionFilter


@strawberry.type
class CustomerServiceFields:
    """Customer's service-desk fields, between ``cards`` and ``offers``."""

    _row: strawberry.Private[CustomerRow]

    @scoped_field(Scope.INTERACTIONS_READ, "This customer's interactions, newest first.")
    async def interactions(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            InteractionFilter | None,
            strawberry.argument(description="Narrows the list; its `customerId` is ignored."),
        ] = None,
    ) -> Connection[Interaction] | None:
        ctx = info.context
        args = PageArgs(first=first, after=after).validated(
            ctx.settings.default_page_size, ctx.settings.max_page_size
        )
        wanted = (
            replace(filter.to_filter(), customer_id=None) if filter else InteractionFilterData()
        )
        page = await ctx.loader(InteractionPagesByCustomerLoader).load(
            InteractionPageKey(self._row.id, args.first or 0, after, wanted)
        )

        async def count() -> int:
            return await ctx.loader(InteractionCountByCustomerLoader).load((self._row.id, wanted))

        return Connection.build(page, Interaction.from_row, count)

    @scoped_field(
        Scope.COMPLAINTS_READ,
        "This customer's complaints that you may see (as `complaints` shows them), newest first.",
    )
    async def complaints(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            ComplaintFilter | None,
            strawberry.argument(description="Narrows the list; its `customerId` is ignored."),
        ] = None,
    ) -> Connection[Complaint] | None:
        return await customer_complaints(info, self._row.id, first, after, filter)


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
    wanted = replace(filter.to_filter() if filter else queries.ComplaintFilter(), customer_id=None)
    page = await ctx.loader(ComplaintPagesByCustomerLoader).load(
        ComplaintPageKey(customer_id, args.first or 0, after, wanted)
    )

    async def count() -> int:
        return await ctx.loader(ComplaintCountByCustomerLoader).load((customer_id, wanted))

    return Connection.build(page, Complaint.from_row, count)
