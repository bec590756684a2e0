"""Live updates over the ``graphql-transport-ws`` WebSocket protocol (SPEC §4).

A broker message only names what changed (ids and an action, never a C2 value), so every
event reloads the complaint through ``complaint_scope`` in a short session of its own
(``Context.event``): a subscriber sees exactly what a query would show it at that moment, and
a complaint that has left its scope is never sent. Who may subscribe is checked when the
subscription starts (the scope declared on the field, ``schema.scope_field``, then the kind
of caller), so a refusal is the protocol's ``error`` message, not a silent stream.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from core.context import Context, Info
from core.errors import Forbidden, NotFound
from core.identity import Scope
from resolvers.service_desk.complaint_channels import (
    assignee_channel,
    complaint_channel,
    customer_channel,
)
from resolvers.service_desk.complaint_queries import NOT_FOUND_MESSAGE, visible_complaint
from schema.relay import uuid_of
from schema.risk.alert_subscription import RiskAlertSubscription
from schema.scope_field import scoped_subscription
from schema.service_desk.complaint import Complaint
from schema.tasks.subscription import TaskSubscription

logger = logging.getLogger("cardcrm.subscriptions")


def _complaint_id(message: dict[str, object]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(message["complaintId"]))
    except (KeyError, ValueError):
        logger.warning("ignoring a broker message without a complaint id")
        return None


async def _complaints(
    context: Context, channel: str, *, only: uuid.UUID | None = None
) -> AsyncGenerator[Complaint, None]:
    """The complaint each message on ``channel`` names, freshly loaded in the caller's scope.

    A complaint the caller no longer sees is skipped; when the stream follows one complaint
    (``only``), losing sight of it ends the stream, since nothing more will be sent for it.
    """
    events = context.state.broker.subscribe(channel)
    try:
        async for message in events:
            complaint_id = _complaint_id(message)
            if complaint_id is None or (only is not None and complaint_id != only):
                continue
            async with context.event() as db:
                row = await visible_complaint(db, context.principal, complaint_id)
                if row is None and only is not None:
                    return
                if row is not None:
                    # Fields resolve while the generator waits here, inside this event's session.
                    yield Complaint.from_row(row)
    finally:
        # An abandoned ``async for`` does not close its iterator: without this the broker
        # would keep the listener (a Redis connection) until the garbage collector ran.
        if isinstance(events, AsyncGenerator):
            await events.aclose()


@strawberry.type(
    description="Live complaint updates over WebSocket at /graphql (graphql-transport-ws "
    "protocol); each event is the complaint as a query would show it to you at that moment."
)
class Subscription(RiskAlertSubscription, TaskSubscription):
    @strawberry.subscription(
        description="The complaint after every change, while it stays in your scope (the "
        "stream ends when it leaves it); NOT_FOUND if it is not in your scope now."
    )
    async def complaint_updated(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The complaint (a `Complaint.id`).")
        ],
    ) -> AsyncGenerator[Complaint, None]:
        context = info.context
        complaint_id = uuid_of(id, "Complaint")
        async with context.event() as db:
            if await visible_complaint(db, context.principal, complaint_id) is None:
                raise NotFound(NOT_FOUND_MESSAGE, field="id")
        return _complaints(context, complaint_channel(complaint_id), only=complaint_id)

    @scoped_subscription(
        Scope.COMPLAINTS_READ,
        "Your complaints as they change: filed, handled, resolved. Customers only; staff get "
        "FORBIDDEN.",
    )
    async def my_complaint_events(self, info: Info) -> AsyncGenerator[Complaint, None]:
        principal = info.context.principal
        if principal.customer_id is None:
            raise Forbidden(
                "myComplaintEvents is for customers; staff follow complaintUpdated or assignedToMe"
            )
        return _complaints(info.context, customer_channel(principal.customer_id))

    @scoped_subscription(
        Scope.COMPLAINTS_READ,
        "Complaints as they are assigned to you, or escalated while yours.",
        staff_only=True,
    )
    async def assigned_to_me(self, info: Info) -> AsyncGenerator[Complaint, None]:
        principal = info.context.principal
        if principal.staff_id is None:  # declared staff only; this narrows the type
            raise Forbidden("assignedToMe is for staff users")
        return _complaints(info.context, assignee_channel(principal.staff_id))
