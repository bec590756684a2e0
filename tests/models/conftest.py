"""A database of a test's own, for tests that change global state: keys, the audit log, the
schema itself, or the cells of a row.

It is the backend under test (a SQLite file under ``tmp_path``, or a new PostgreSQL database
when ``CARDCRM_TEST_DATABASE=postgresql``), has its own master key and ``var/`` directory, and
can be handed to the ``cardcrm`` command as a subprocess. Other test folders import these
fixtures from here.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import migrations
from auth.audit_key import attach_chain_key
from core.database import Database
from core.encryption import KeyRing
from core.settings import Environment, Settings
from models.key_store import load_key_ring, master_key_from_settings
from tests.support import create_postgres_database, drop_postgres_database, postgres_admin_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CARDCRM = Path(sys.executable).with_name("cardcrm")
CLI_TIMEOUT_SECONDS = 60
_INHERITED_SETTINGS = ("DATABASE_URL", "REDIS_URL")


@dataclass(frozen=True)
class FreshDatabase:
    """A database no other test touches, with the settings a server or the CLI would use."""

    settings: Settings

    @property
    def url(self) -> str:
        return self.settings.sqlalchemy_url

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.url).get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path:
        assert self.is_sqlite, "only a SQLite database lives in a file"
        return Path(str(make_url(self.url).database))

    def upgrade(self) -> None:
        migrations.upgrade(self.url)

    @asynccontextmanager
    async def database(self) -> AsyncIterator[Database]:
        """An engine on this database, disposed of afterwards."""
        database = Database(self.url, pool_size=5)
        try:
            yield database
        finally:
            await database.dispose()

    async def key_ring(self, database: Database) -> KeyRing:
        """The ring the server would load (created on first use, like a first start), with
        the audit chain key attached to ``database`` as the server's start does."""
        master = master_key_from_settings(self.settings)
        async with database.session() as session:
            ring = await load_key_ring(session, master)
            await attach_chain_key(session, master)
            return ring

    def environment(self) -> dict[str, str]:
        """The environment of a ``cardcrm`` process pointed at this database only."""
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("CARDCRM_") and name not in _INHERITED_SETTINGS
        }
        env.update(
            DATABASE_URL=self.url,
            CARDCRM_ENVIRONMENT=self.settings.environment.value,
            CARDCRM_VAR_DIR=str(self.settings.var_dir),
            NO_COLOR="1",
            TERM="dumb",
            COLUMNS="200",
        )
        if self.settings.master_key is not None:
            env["CARDCRM_MASTER_KEY"] = self.settings.master_key
        return env

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Runs ``cardcrm <args>`` against this database and returns what it printed."""
        return subprocess.run(
            [str(CARDCRM), *args],
            cwd=PROJECT_ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )

    async def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``cli`` without blocking the event loop (the shared test server runs on it)."""
        return await asyncio.to_thread(self.cli, *args)


MakeDatabase = Callable[..., FreshDatabase]


def _backend() -> str:
    return os.environ.get("CARDCRM_TEST_DATABASE", "sqlite")


@pytest.fixture
def make_database(tmp_path: Path) -> Iterator[MakeDatabase]:
    """Makes fresh databases of the backend under test: ``make_database(migrated=True)``."""
    admin_url = postgres_admin_url() if _backend() == "postgresql" else None
    if _backend() == "postgresql" and admin_url is None:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL or start it)")
    created: list[str] = []

    def make(*, migrated: bool = True) -> FreshDatabase:
        name = f"cardcrm_fresh_{uuid.uuid4().hex[:10]}"
        var_dir = tmp_path / name
        var_dir.mkdir()
        if admin_url is None:
            url = f"sqlite+aiosqlite:///{var_dir / 'cardcrm.db'}"
        else:
            url = create_postgres_database(admin_url, name)
            created.append(name)
        fresh = FreshDatabase(
            Settings(
                environment=Environment.TEST,
                var_dir=var_dir,
                database_url=url,
                master_key=base64.b64encode(os.urandom(32)).decode(),
            )
        )
        if migrated:
            fresh.upgrade()
        return fresh

    yield make
    for name in created:
        assert admin_url is not None
        drop_postgres_database(admin_url, name)


@pytest.fixture
def empty_database(make_database: MakeDatabase) -> FreshDatabase:
    """A fresh database with no schema at all."""
    return make_database(migrated=False)


@pytest.fixture
def fresh_database(make_database: MakeDatabase) -> FreshDatabase:
    """A fresh database migrated to head, with no rows."""
    return make_database()
