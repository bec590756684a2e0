"""A request's one database session, shared safely by the fields GraphQL resolves at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from core.outage import UNAVAILABLE_MESSAGE, DatabaseUnavailable, is_database_outage


class RequestDatabase:
    """The request's one session, used by one coroutine at a time.

    GraphQL resolves sibling fields concurrently and an ``AsyncSession`` must not be; this
    gate serialises them, so a request holds at most one pooled connection.

    It also remembers how the database treated the request (``core.outage``): ``outage`` is
    the first sign that the database did not answer, after which every later use fails at
    once instead of waiting out the statement timeout again; ``interrupted_waiting`` says the
    request's deadline stopped it while it waited on the database, so the database, not the
    query, was what was slow.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._gate = asyncio.Lock()
        self.outage: BaseException | None = None
        self.interrupted_waiting = False

    async def execute(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Result[Any]:
        async with self._turn():
            return await self._session.execute(statement, params)

    async def scalars(self, statement: Executable) -> list[Any]:
        async with self._turn():
            return list((await self._session.scalars(statement)).all())

    async def scalar(self, statement: Executable) -> Any:
        async with self._turn():
            return await self._session.scalar(statement)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[AsyncSession]:
        """The session itself, for a unit of work that adds, flushes and commits."""
        async with self._turn():
            try:
                yield self._session
            except BaseException:
                await self._session.rollback()
                raise

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """The driver's own connection under the session (asyncpg's or aiosqlite's), for a
        planned query (``api.compiled.sql``) that runs its prepared statements without the
        ORM. It is the session's pooled connection, so the request still holds one; no
        transaction is begun for it (each read stands alone, as under READ COMMITTED)."""
        async with self._turn():
            connection = await self._session.connection()
            raw = await connection.get_raw_connection()
            yield raw.driver_connection

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        async with self._gate:
            if self.outage is not None:
                raise DatabaseUnavailable(UNAVAILABLE_MESSAGE) from self.outage
            try:
                yield
            except asyncio.CancelledError:
                self.interrupted_waiting = True
                raise
            except Exception as exc:
                if is_database_outage(exc):
                    self.outage = exc
                raise
