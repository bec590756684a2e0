"""Why the database cannot be used at start-up, said in one line an operator can act on.

A driver's own error names neither the server nor the fix: asyncpg's refused connection
reaches the log as a bare ``ConnectionRefusedError``, a database that does not exist as a
DBAPIError quoting SQLSTATE 3D000. ``database_problem`` turns each failure that has a known
cause into a sentence naming the host, port, database or file and what to do; anything else
is left to propagate (it is a bug, and ``api.log_format`` keeps its traceback out of logs).
The message never carries the password of ``DATABASE_URL``.

``migrations.assert_migrated``, the first query of ``build_state``, raises
``DatabaseUnreachable`` with that sentence (a failed ``serve`` lifespan logs it, see
``api.log_format``), and the CLI prints it (``api.cli.common``). It lives on the floor because
``migrations`` uses it, and nothing below the roof imports ``api``.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import URL, make_url

POSTGRES_PORT = 5432
_CHECK_DATABASE_URL = "check DATABASE_URL"


class DatabaseUnreachable(RuntimeError):
    """The database cannot be used at all; the message names it and what to do."""


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it wraps: SQLAlchemy's ``orig``, then ``__cause__``/``__context__``."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None]
        pending += [current.__cause__, current.__context__]


def _postgres_problem(error: BaseException, url: URL) -> str | None:
    host, port = url.host or "localhost", url.port or POSTGRES_PORT
    where = f"PostgreSQL at {host}:{port}"
    for cause in _causes(error):
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate == "3D000":
            return (
                f"{where} has no database {url.database!r}: create it (`createdb -h {host} "
                f"-p {port} {url.database}`) or {_CHECK_DATABASE_URL}"
            )
        if sqlstate in ("28000", "28P01"):
            return f"{where} refused the login of {url.username!r}: {_CHECK_DATABASE_URL}"
        if sqlstate == "57P03":
            return f"{where} is starting up or shutting down; try again in a moment"
        if sqlstate == "53300":
            return (
                f"{where} has too many connections: lower CARDCRM_DATABASE_POOL_SIZE "
                "or raise the server's max_connections"
            )
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host {host!r} named by DATABASE_URL; check its spelling"
        if isinstance(cause, ConnectionRefusedError):
            return (
                f"cannot connect to {where}: connection refused; start PostgreSQL there "
                f"or {_CHECK_DATABASE_URL}"
            )
        if isinstance(cause, TimeoutError):
            return f"{where} did not answer in time; is it up and reachable from here?"
        if isinstance(cause, OSError) and cause.filename is None:  # not a file's error
            return f"cannot connect to {where} ({cause.strerror or cause}); {_CHECK_DATABASE_URL}"
    return None


def _sqlite_problem(error: BaseException, url: URL) -> str | None:
    path = str(url.database)
    for cause in _causes(error):
        cannot_open = isinstance(cause, sqlite3.OperationalError) and "unable to open" in str(cause)
        # core.database creates the file's directory first, which fails for a path under a file.
        cannot_create = isinstance(cause, OSError) and path.startswith(str(cause.filename or "\0"))
        if cannot_open or cannot_create:
            return (
                f"cannot open the SQLite database {path}: {_CHECK_DATABASE_URL} and that "
                "its directory can be created and written"
            )
    return None


def database_problem(error: BaseException, database_url: str | URL) -> str | None:
    """What an operator should read for this failure, if its cause is a known one."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_problem(error, url)
    return _postgres_problem(error, url)


@contextmanager
def explained(database_url: str | URL) -> Iterator[None]:
    """Re-raises a failure with a known cause as ``DatabaseUnreachable``."""
    try:
        yield
    except Exception as exc:
        problem = database_problem(exc, database_url)
        if problem is None:
            raise
        raise DatabaseUnreachable(problem) from exc
