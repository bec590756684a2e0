"""A request's operation within its execution deadline, and never held by the database.

``asyncio.timeout`` cancels the operation at the deadline, but the answer still waits for the
operation to unwind, and a database driver waiting on a server that does not answer (frozen,
not refusing) may not let go of a cancelled statement until the server replies. So the
operation runs as a task of its own: at the deadline it is cancelled and given a short grace
to unwind (so it can say where it was); one still running after that is waiting on the
database, is left to finish in the background, and the caller is answered at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from core.database import close_in_background

T = TypeVar("T")
CANCEL_GRACE_SECONDS = 0.25
_logger = logging.getLogger("cardcrm")
_abandoned: set[asyncio.Task[Any]] = set()


@dataclass(frozen=True)
class Overrun:
    """The deadline passed. ``stuck``: the operation did not stop within the grace, so it is
    waiting on the database (which is therefore what was slow)."""

    stuck: bool


async def run_within(operation: Coroutine[Any, Any, T], seconds: float) -> T | Overrun:
    """The operation's result, or an ``Overrun``; its own exceptions propagate. It runs in
    the caller's context (context variables are copied when the task starts)."""
    task = asyncio.create_task(operation)
    try:
        return await asyncio.wait_for(asyncio.shield(task), seconds)
    except TimeoutError:
        if task.done():  # the operation's own TimeoutError, not the deadline
            raise
    except asyncio.CancelledError:  # the caller itself is stopped: so is the operation
        task.cancel()
        raise
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=CANCEL_GRACE_SECONDS)
    if not done:
        _abandon(task)
        return Overrun(stuck=True)
    if task.cancelled():
        return Overrun(stuck=False)
    return task.result()  # it finished, or failed, as the deadline passed


async def answered_then_closed(
    operation: Awaitable[T], session: AsyncSession, answered: list[T]
) -> T:
    """The operation's answer, kept in ``answered`` before its session is closed, so that an
    answer made in time stands when only the close runs over; a session left open by a
    failure or a cancellation is closed in the background, never waited for here."""
    try:
        answer = await operation
        answered.append(answer)
        await session.close()
        return answer
    except BaseException:
        close_in_background(session)
        raise


def _abandon(task: asyncio.Task[Any]) -> None:
    _abandoned.add(task)
    task.add_done_callback(_ended)


def _ended(task: asyncio.Task[Any]) -> None:
    _abandoned.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _logger.info("an abandoned operation ended with %s", type(task.exception()).__name__)
