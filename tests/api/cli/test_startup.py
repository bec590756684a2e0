"""The ``cardcrm`` command on a database it cannot use, as a subprocess: a database migrated
by newer code, a ``DATABASE_URL`` naming a database that does not exist, a PostgreSQL that
is down, a SQLite file that cannot be created. Each command says what is wrong and what to do in one line on stderr, exits 1, and
prints no traceback."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from migrations import head_revision
from tests.conftest import _free_port
from tests.models.conftest import CARDCRM, CLI_TIMEOUT_SECONDS, PROJECT_ROOT, FreshDatabase
from tests.support import postgres_admin_url

pytestmark = pytest.mark.slow

FUTURE_REVISION = "0999_from_a_newer_release"


def cardcrm(
    fresh: FreshDatabase, database_url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """``cardcrm <args>`` with the fresh database's settings but another ``DATABASE_URL``."""
    return subprocess.run(
        [str(CARDCRM), *args],
        cwd=PROJECT_ROOT,
        env={**fresh.environment(), "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def commands(port: int) -> list[tuple[str, ...]]:
    """Commands that each reach the database first in a different way: through Alembic,
    through serve's check before uvicorn starts, and through ``started`` (api/cli/common)."""
    return [("db", "upgrade"), ("serve", "--port", str(port)), ("evaluate",)]


async def test_a_database_newer_than_the_code_is_refused_saying_the_code_is_older(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database, database.engine.begin() as connection:
        await connection.execute(
            text(f"UPDATE alembic_version SET version_num = '{FUTURE_REVISION}'")
        )
    for command in [*commands(_free_port()), ("db", "downgrade")]:
        done = cardcrm(fresh_database, fresh_database.url, *command)
        assert_one_line_error(
            done,
            f"the database is at revision {FUTURE_REVISION}",
            "the code is older than the database",
            f"its newest revision is {head_revision()}",
        )
        assert "run `cardcrm db upgrade`" not in done.stderr, command
    async with fresh_database.database() as database, database.engine.connect() as connection:
        stored = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert stored == FUTURE_REVISION


async def test_a_database_url_naming_no_database_says_how_to_create_it(
    fresh_database: FreshDatabase,
) -> None:
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL or start it)")
    name = f"cardcrm_missing_{uuid.uuid4().hex[:10]}"
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    server = make_url(admin_url)
    where = f"PostgreSQL at {server.host}:{server.port or 5432}"
    for command in commands(_free_port()):
        done = cardcrm(fresh_database, url, *command)
        assert_one_line_error(done, f"{where} has no database '{name}'", "createdb", name)


async def test_postgresql_down_is_named_by_host_and_port_with_what_to_do(
    fresh_database: FreshDatabase,
) -> None:
    port = _free_port()  # nothing listens there
    url = f"postgresql://cardcrm:not-printed@127.0.0.1:{port}/cardcrm"
    for command in commands(_free_port()):
        done = cardcrm(fresh_database, url, *command)
        assert_one_line_error(
            done,
            f"cannot connect to PostgreSQL at 127.0.0.1:{port}: connection refused",
            "start PostgreSQL there or check DATABASE_URL",
        )
        assert "not-printed" not in done.stderr


def test_a_sqlite_file_that_cannot_be_created_is_named(fresh_database: FreshDatabase) -> None:
    blocker = fresh_database.settings.var_dir / "a-file"
    blocker.write_text("")
    path = blocker / "cardcrm.db"
    for command in commands(_free_port()):
        done = cardcrm(fresh_database, f"sqlite+aiosqlite:///{path}", *command)
        assert_one_line_error(done, f"cannot open the SQLite database {path}")


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("port", ["65536", "99999", "-1"])
def test_serve_on_a_port_outside_the_tcp_range_is_refused_before_starting(
    fresh_database: FreshDatabase, port: str, workers: str
) -> None:
    """99999 was a traceback with two workers; with one, uvicorn listened on 34463 (99999
    modulo 65536) while saying 99999."""
    done = cardcrm(
        fresh_database, fresh_database.url, "serve", "--port", port, "--workers", workers
    )

    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert "--port" in done.stderr
    assert "serving on" not in done.stdout


def test_a_target_revision_that_does_not_exist_is_a_message(fresh_database: FreshDatabase) -> None:
    done = cardcrm(fresh_database, fresh_database.url, "db", "upgrade", "no_such_revision")
    assert_one_line_error(done, "cannot upgrade to no_such_revision", "no_such_revision")
