"""Alembic, driven from code: the ``cardcrm db`` commands and the start-up check use this.

The migration scripts live in ``migrations/versions``; ``env.py`` reads the database URL
that these helpers put on the Alembic config, so no ``alembic.ini`` has to agree with the
settings.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.startup import explained

MIGRATIONS_DIR = Path(__file__).resolve().parent


class DatabaseNotMigrated(RuntimeError):
    """The database schema is not at the code's head revision; the message says what to run."""


class DatabaseNewerThanCode(DatabaseNotMigrated):
    """The database is at a revision this code has no script for: a newer cardcrm migrated it.

    ``cardcrm db upgrade`` cannot help and ``db downgrade`` cannot either (the scripts that
    would undo that revision ship with the newer code), so the message says to run that code.
    """


class MigrationFailed(RuntimeError):
    """Alembic refused the command (say, a target revision that does not exist)."""


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None, "migrations/versions holds no revision"
    return head


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrates up; env.py refuses a database newer than the code (refuse_unknown_revision)."""
    try:
        command.upgrade(alembic_config(database_url), revision)
    except CommandError as exc:
        raise MigrationFailed(f"cannot upgrade to {revision}: {exc}") from exc


def downgrade(database_url: str, revision: str = "-1") -> None:
    try:
        command.downgrade(alembic_config(database_url), revision)
    except CommandError as exc:
        raise MigrationFailed(f"cannot downgrade to {revision}: {exc}") from exc


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _newer_than_code(current: str) -> DatabaseNewerThanCode:
    return DatabaseNewerThanCode(
        f"the database is at revision {current}, which this code does not know: the code is "
        f"older than the database (its newest revision is {head_revision()}); run the cardcrm "
        "version that migrated it, or downgrade with that version (`cardcrm db upgrade` cannot "
        "help)"
    )


def refuse_unknown_revision(connection: Connection) -> None:
    """Called by env.py before migrating: Alembic would fail on a revision it cannot locate
    with a traceback and no advice."""
    current = _current_revision(connection)
    if current is not None and current not in _known_revisions():
        raise _newer_than_code(current)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


async def assert_migrated(engine: AsyncEngine) -> None:
    """Refuses to serve on an unmigrated or outdated database, naming the fix; a database
    it cannot reach is ``DatabaseUnreachable``, saying why (core/startup.py)."""
    with explained(engine.url):
        current = await current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise DatabaseNotMigrated(
            "the database has no cardcrm schema yet; run `cardcrm db upgrade` "
            "(or `cardcrm serve --demo` to create and seed a development database)"
        )
    if current not in _known_revisions():
        raise _newer_than_code(current)
    raise DatabaseNotMigrated(
        f"the database is at revision {current} but this code needs {head}; "
        "run `cardcrm db upgrade`"
    )
