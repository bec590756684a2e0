"""Telling live subscribers (``taskAssigned``) which tasks were assigned or queued.

Generation and reassignment commit first; then a message names the tasks (ids and their
branch, never a customer's data), in chunks per branch, and each subscriber reloads the ones
that are theirs in its own scope (an agent the ones assigned to them, a supervisor their
branch's), as the risk alerts do.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable

from core.broker import Broker
from models.columns import utcnow

logger = logging.getLogger("cardcrm.tasks")
ASSIGNED_CHANNEL = "tasks:assigned"
CHUNK = 500


async def publish_assigned(broker: Broker, tasks: Iterable[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Messages naming the (task id, branch id) pairs, at most ``CHUNK`` ids each. The tasks
    are committed, so a broker outage is logged, not raised: they wait in the queue."""
    by_branch: dict[uuid.UUID, list[str]] = defaultdict(list)
    for task_id, branch_id in tasks:
        by_branch[branch_id].append(str(task_id))
    at = utcnow().isoformat()
    try:
        for branch_id, ids in by_branch.items():
            for start in range(0, len(ids), CHUNK):
                message = {"taskIds": ids[start : start + CHUNK], "branchId": str(branch_id)}
                await broker.publish(ASSIGNED_CHANNEL, message | {"at": at})
    except Exception:
        logger.warning("could not publish assigned tasks; subscribers will miss them")
