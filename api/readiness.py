"""``/readyz``'s question to the database, answered within a bounded time.

A load balancer asks every few seconds and takes a slow answer for a dead instance; an
instance whose database has stopped answering must say so at once (503) rather than hang like
the requests it would be sent. So the probe (``SELECT 1`` on a pooled connection) runs in a
task of its own and the caller waits for it at most ``readiness_timeout_seconds``. A probe
still waiting is shared by the callers that come meanwhile instead of each starting another
(which would each hold a connection); it ends by the database's own timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import text

from core.database import Database

logger = logging.getLogger("cardcrm")


class DatabaseProbe:
    def __init__(self, database: Database, timeout_seconds: float) -> None:
        self._database = database
        self._timeout_seconds = timeout_seconds
        self._probe: asyncio.Task[None] | None = None

    async def answers(self) -> bool:
        """True when the database answered ``SELECT 1`` within the timeout."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._select_one())
            self._probe.add_done_callback(_retrieve)
        try:
            async with asyncio.timeout(self._timeout_seconds):
                await asyncio.shield(self._probe)
        except Exception as exc:  # any failure means "not ready"; the reason goes to the log
            logger.warning("readiness check: the database did not answer (%s)", type(exc).__name__)
            return False
        return True

    async def close(self) -> None:
        """Stops a probe still waiting (at shutdown)."""
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._probe

    async def _select_one(self) -> None:
        async with self._database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))


def _retrieve(task: asyncio.Task[None]) -> None:
    """Marks a failed probe's exception as seen: the caller may have stopped waiting."""
    if not task.cancelled():
        task.exception()
