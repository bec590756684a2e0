"""The SQLite database files are private to their owner, like the keys beside them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

import migrations
from core.database import Database

PRIVATE = 0o600


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The umask most shells have, under which SQLite alone would create 0644 files."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o777


def modes(*paths: Path) -> dict[str, int | None]:
    """Each file's permission bits, None for a file that does not exist."""
    return {path.name: mode_of(path) if path.exists() else None for path in paths}


@pytest.mark.usefixtures("permissive_umask")
async def test_a_new_database_and_its_wal_and_shm_files_are_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "var" / "cardcrm.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        files = (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
        assert modes(*files) == {file.name: PRIVATE for file in files}
    finally:
        await database.dispose()


@pytest.mark.usefixtures("permissive_umask")
def test_the_database_created_by_db_upgrade_is_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cardcrm.db"

    migrations.upgrade(f"sqlite+aiosqlite:///{path}")

    assert mode_of(path) == PRIVATE
    assert all(mode_of(p) == PRIVATE for p in tmp_path.glob("cardcrm.db-*"))


@pytest.mark.usefixtures("permissive_umask")
async def test_an_existing_database_file_keeps_the_mode_its_operator_chose(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    path.touch(mode=0o640)
    path.chmod(0o640)
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await database.dispose()
    assert modes(path) == {path.name: 0o640}
