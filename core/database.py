"""The async engine and session factory, and a per-request SQL statement counter.

SQLite (a file under ``var/``) is the embedded default; ``DATABASE_URL`` selects PostgreSQL
through asyncpg. The statement counter exists so tests can assert that a query makes a
constant number of SQL statements (no N+1) and so request logs can report it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core import outage

# Without Timeouts (CLI commands), a write waits this long for another's lock, as before.
_SQLITE_BUSY_MS_UNBOUNDED = 30000
# A pooled connection idle longer than this is pinged before it is handed out; one checked in
# a moment ago answered then. (SQLAlchemy's ``pool_pre_ping`` pings every checkout: three
# round trips per request on asyncpg, a BEGIN, the ping and a ROLLBACK.)
PING_AFTER_IDLE_SECONDS = 1.0


@dataclass(frozen=True)
class Timeouts:
    """How long the serving process waits on the database; ``core.settings`` holds the values
    (``database_*_timeout_seconds``) and says why."""

    connect_seconds: float
    pool_seconds: float
    statement_seconds: float


@dataclass
class StatementCount:
    value: int = 0


_statement_count: ContextVar[StatementCount | None] = ContextVar("statement_count", default=None)


@asynccontextmanager
async def counting_statements() -> AsyncIterator[StatementCount]:
    """Counts the SQL statements executed inside the block (by this task and its children)."""
    counter = StatementCount()
    token = _statement_count.set(counter)
    try:
        yield counter
    finally:
        _statement_count.reset(token)


def _count_statement(*_: Any) -> None:
    counter = _statement_count.get()
    if counter is not None:
        counter.value += 1


def _configure_sqlite(dbapi_connection: Any, _record: Any, *, busy_timeout_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")
    cursor.close()


def _create_private_file(database: str) -> None:
    """Creates the SQLite file readable by its owner only (0600, like the keys), before SQLite
    does with the umask's mode. SQLite gives the ``-wal``, ``-shm`` and ``-journal`` files it
    creates later the mode of the database file, so they are private too. An existing file
    keeps its mode: the operator may have chosen it."""
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _bounds(timeouts: Timeouts | None, *, sqlite: bool) -> dict[str, Any]:
    """The engine's arguments for these timeouts (a server's engine has them, a CLI
    command's none): asyncpg's connect and statement timeouts, and the pool's wait (SQLite's
    statement bound is its busy timeout, set per connection).

    A server's PostgreSQL sessions also run without JIT compilation. The API's statements
    read a page or a handful of rows, yet an estimate over a large table (a count per live
    offer) can pass PostgreSQL's JIT threshold, and the compilation then costs 270 ms on
    every run of a statement that takes 0.6 ms without it."""
    if timeouts is None:
        return {}
    bounds: dict[str, Any] = {"pool_timeout": timeouts.pool_seconds}
    if not sqlite:
        bounds["connect_args"] = {
            "timeout": timeouts.connect_seconds,
            "command_timeout": timeouts.statement_seconds,
            "server_settings": {"jit": "off"},
        }
    return bounds


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, timeouts: Timeouts | None = None
) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private_file(parsed.database)
        engine = create_async_engine(url, echo=echo, **_bounds(timeouts, sqlite=True))
        busy_ms = (
            round(timeouts.statement_seconds * 1000) if timeouts else _SQLITE_BUSY_MS_UNBOUNDED
        )
        event.listen(
            engine.sync_engine, "connect", partial(_configure_sqlite, busy_timeout_ms=busy_ms)
        )
    else:
        engine = create_async_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            **_bounds(timeouts, sqlite=False),
        )
        _ping_when_idle(engine)
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    outage.watch(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling for the connections that need it: a connection back
    from the pool after ``PING_AFTER_IDLE_SECONDS`` is pinged, and one that does not answer
    is replaced (SQLAlchemy retries the checkout with a fresh connection). A busy pool's
    connections, in use a moment ago, are not: a server that went away since fails their
    next statement, which ``core.outage`` answers 503 and the pool then drops."""
    pool = engine.sync_engine.pool

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("the pooled connection did not answer a ping") from exc

    event.listen(pool, "checkin", checked_in)
    event.listen(pool, "checkout", checked_out)


_closing: set[asyncio.Task[None]] = set()
_logger = logging.getLogger("cardcrm")


def close_in_background(session: AsyncSession) -> None:
    """Closes a request's session without making its answer wait: after a deadline, its
    rollback may be stuck behind a database that does not answer (a cancelled statement holds
    the connection until the server replies), and the caller has been answered already."""
    task = asyncio.create_task(session.close())
    _closing.add(task)
    task.add_done_callback(_closed)


def _closed(task: asyncio.Task[None]) -> None:
    _closing.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _logger.warning("a request's session closed with %s", type(task.exception()).__name__)


class Database:
    """One engine and its session factory, shared by the whole process.

    ``statements_executed`` counts every SQL statement this engine ran; tests read it around
    one request to assert a query's statement count, and metrics can export it.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        echo: bool = False,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size, echo=echo, timeouts=timeouts)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.statements_executed = 0
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.statements_executed += 1

    def note_statement(self) -> None:
        """Counts a statement run on a driver connection directly (``api.compiled.sql``),
        which SQLAlchemy's events do not see."""
        self.statements_executed += 1
        _count_statement()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
