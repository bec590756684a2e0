"""``taskAssigned``: tasks as they are assigned, live over WebSocket.

A broker message names tasks and their branch only (``resolvers.tasks.events``, published
after generation or a reassignment committed); each event reloads them in the subscriber's
scope in a short session of its own (``Context.event``): an agent hears the tasks assigned to
them, a supervisor their branch's (assigned or not), admins and auditors every branch's.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncGenerator

import strawberry

from core.context import Context, Info
from core.identity import Role, Scope
from resolvers.tasks.events import ASSIGNED_CHANNEL
from resolvers.tasks.queries import visible_tasks
from schema.scope_field import scoped_subscription
from schema.tasks.task import Task

logger = logging.getLogger("cardcrm.subscriptions")


def _task_ids(message: dict[str, object]) -> list[uuid.UUID]:
    try:
        ids = message["taskIds"]
        assert isinstance(ids, list)
        return [uuid.UUID(str(value)) for value in ids]
    except (KeyError, ValueError, AssertionError):
        logger.warning("ignoring a broker message without task ids")
        return []


def _concerns(context: Context, message: dict[str, object]) -> bool:
    """A supervisor skips other branches' messages without a query."""
    principal = context.principal
    if principal.role is not Role.SUPERVISOR:
        return True
    return str(message.get("branchId")) == str(principal.branch_id)


async def _assigned(context: Context) -> AsyncGenerator[Task, None]:
    events = context.state.broker.subscribe(ASSIGNED_CHANNEL)
    try:
        async for message in events:
            task_ids = _task_ids(message)
            if not task_ids or not _concerns(context, message):
                continue
            async with context.event() as db:
                for row in await visible_tasks(db, context.principal, task_ids):
                    # Fields resolve while the generator waits here, inside this session.
                    yield Task.from_row(row)
    finally:
        if isinstance(events, AsyncGenerator):
            await events.aclose()


@strawberry.type
class TaskSubscription:
    @scoped_subscription(
        Scope.TASKS_READ,
        "Each task as it is assigned or queued (by `cardcrm tasks generate` or `reassignTask`, "
        "after it committed), as a query would show it to you: an agent the tasks assigned to "
        "them, a supervisor their branch's, admins and auditors every branch's.",
        staff_only=True,
    )
    async def task_assigned(self, info: Info) -> AsyncGenerator[Task, None]:
        return _assigned(info.context)
