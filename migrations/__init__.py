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
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent


class DatabaseNotMigrated(RuntimeError):
    """The database schema is not at the code's head revision; the message says what to run."""


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None, "migrations/versions holds no revision"
    return head


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "-1") -> None:
    command.downgrade(alembic_config(database_url), revision)


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


async def assert_migrated(engine: AsyncEngine) -> None:
    """Refuses to serve on an unmigrated or outdated database, naming the fix."""
    current = await current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise DatabaseNotMigrated(
            "the database has no cardcrm schema yet; run `cardcrm db upgrade` "
            "(or `cardcrm serve --demo` to create and seed a development database)"
        )
    raise DatabaseNotMigrated(
        f"the database is at revision {current} but this code needs {head}; "
        "run `cardcrm db upgrade`"
    )
