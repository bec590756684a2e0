"""A database that does not answer is the service's failure, not the request's.

A frozen or unreachable database shows itself as a statement, a connection or a wait for a
pooled connection that takes too long (the timeouts in ``core.settings``), or as a connection
that breaks. Each of those gets the same answer: 503 SERVICE_UNAVAILABLE with ``Retry-After``,
since the same request may succeed later. ``is_database_outage`` tells them apart
from the request's own errors wherever an exception surfaces: in a resolver (through
``api.error_handling``), around the whole request (``api.graphql_view``), in ``/readyz`` and
on a WebSocket.

The engine's listeners (``watch``) make a connection that stopped answering unusable at once:
it is invalidated rather than handed to the next request, and closed without the goodbye a
stopped server would never acknowledge (SQLAlchemy's graceful close waits two more seconds).
"""

from __future__ import annotations

import asyncio
import sqlite3
import traceback
from collections.abc import Iterator
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import ServiceUnavailable

UNAVAILABLE_MESSAGE = (
    "the database did not answer in time; nothing is wrong with the request, send it again"
    " shortly (a mutation with the same Idempotency-Key changes nothing twice)"
)
# The failures of a PostgreSQL server that is down, restarting, or out of connections.
_ASYNCPG_UNAVAILABLE = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)
# SQLite's answer once its busy timeout has passed while another connection holds the lock.
_SQLITE_BUSY = ("database is locked", "database is busy")
# A bare TimeoutError or OSError is an outage only when a database driver raised it: asyncpg's
# statement and connect timeouts, a refused or reset connection.
_DRIVER_MODULES = ("asyncpg", "aiosqlite", "sqlalchemy", "sqlite3")


class DatabaseUnavailable(ServiceUnavailable):
    """Raised before the database is asked again within a request that already found it not
    answering: the request would otherwise wait out the statement timeout once per field."""


def is_database_outage(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) says the database did not answer."""
    return any(_is_outage(link) for link in _chain(error))


def _is_outage(error: BaseException) -> bool:
    if isinstance(error, (ServiceUnavailable, sa_exc.TimeoutError, *_ASYNCPG_UNAVAILABLE)):
        return True  # sa_exc.TimeoutError: no pooled connection came free in time
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sqlite3.OperationalError):
        return str(error) in _SQLITE_BUSY
    return isinstance(error, OSError) and _raised_by_driver(error)  # TimeoutError is an OSError


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (``orig``) and what caused it, each once."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending and len(seen) < 20:
        link = pending.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        wrapped = getattr(link, "orig", None)
        pending.extend(e for e in (wrapped, link.__cause__, link.__context__) if e is not None)


def _raised_by_driver(error: BaseException) -> bool:
    for frame, _ in traceback.walk_tb(error.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] in _DRIVER_MODULES:
            return True
    return False


def watch(engine: AsyncEngine) -> None:
    """Makes the engine drop a connection that stopped answering (see the module's text)."""
    event.listen(engine.sync_engine, "handle_error", _unanswered_is_a_disconnect)
    event.listen(engine.sync_engine, "invalidate", _close_without_goodbye)


def _unanswered_is_a_disconnect(context: ExceptionContext) -> None:
    """A statement the server never answered leaves its connection mid-protocol: it must not
    go back to the pool, where the next request would wait on it again."""
    if isinstance(context.original_exception, TimeoutError):
        context.is_disconnect = True


def _close_without_goodbye(
    dbapi_connection: Any, _record: Any, error: BaseException | None
) -> None:
    if not isinstance(error, TimeoutError | asyncio.CancelledError):
        return
    terminate = getattr(getattr(dbapi_connection, "driver_connection", None), "terminate", None)
    if callable(terminate):  # asyncpg's: closes the socket without waiting for the server
        terminate()
