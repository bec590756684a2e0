"""The benchmark's PostgreSQL database: a throwaway one built for the run and dropped after
it (also on error and Ctrl-C), or one kept between runs.

The full dataset takes minutes to build, so ``--keep-database NAME`` builds into ``NAME``
and keeps it, and ``--database NAME`` reuses it. Its values are sealed under a master key
that exists nowhere else, so keeping a database writes that key, with the dataset's size,
to ``bench/results/databases/NAME.json`` (git-ignored, readable by its owner only).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bench.dataset import Sizes, build_database

KEPT = Path(__file__).parent / "results" / "databases"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class BenchDatabase:
    name: str
    url: str  # postgresql+asyncpg://...
    master_key: str
    scale: float
    rows: dict[str, int]
    build_seconds: float
    reused: bool = False
    kept: bool = False


def _admin_dsn(postgres: str) -> str:
    return make_url(postgres).set(drivername="postgresql").render_as_string(hide_password=False)


def _url(postgres: str, name: str) -> str:
    url = make_url(postgres).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


def checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise SystemExit(f"database name {name!r}: use lower-case letters, digits and _")
    return name


async def _admin(postgres: str, statement: str) -> None:
    connection = await asyncpg.connect(_admin_dsn(postgres))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _exists(postgres: str, name: str) -> bool:
    connection = await asyncpg.connect(_admin_dsn(postgres))
    try:
        return bool(await connection.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", name))
    finally:
        await connection.close()


def _key_file(name: str) -> Path:
    return KEPT / f"{name}.json"


def _remember(database: BenchDatabase) -> None:
    KEPT.mkdir(parents=True, exist_ok=True)
    path = _key_file(database.name)
    path.write_text(json.dumps(asdict(database), indent=2) + "\n")
    path.chmod(0o600)


def _reused(postgres: str, name: str) -> BenchDatabase:
    path = _key_file(name)
    if not path.exists() or not asyncio.run(_exists(postgres, name)):
        raise SystemExit(
            f"no kept benchmark database {name!r} (or no {path}); build one with "
            f"`python -m bench run --keep-database {name}`"
        )
    saved = json.loads(path.read_text())
    saved.update(url=_url(postgres, name), reused=True, kept=True)
    return BenchDatabase(**saved)


def _built(postgres: str, name: str, scale: float, keep: bool) -> BenchDatabase:
    master_key = base64.b64encode(os.urandom(32)).decode()
    url = _url(postgres, name)
    built = asyncio.run(build_database(url, master_key, Sizes().scaled(scale)))
    print(f"dataset: {built.rows} in {built.seconds:.1f} s", flush=True)
    return BenchDatabase(
        name, url, master_key, scale, built.rows, round(built.seconds, 1), kept=keep
    )


@contextmanager
def bench_database(
    postgres: str, scale: float, *, reuse: str | None = None, keep: str | None = None
) -> Iterator[BenchDatabase]:
    """The database to benchmark on; a throwaway one is dropped however the block ends."""
    if reuse is not None:
        yield _reused(postgres, checked_name(reuse))
        return
    name = checked_name(keep) if keep else f"cardcrm_bench_{uuid.uuid4().hex[:10]}"
    if asyncio.run(_exists(postgres, name)):
        raise SystemExit(f"database {name!r} exists: reuse it with --database {name}, or drop it")
    asyncio.run(_admin(postgres, f'CREATE DATABASE "{name}"'))
    built: BenchDatabase | None = None
    try:
        built = _built(postgres, name, scale, keep is not None)
        if built.kept:
            _remember(built)
        yield built
    finally:
        if built is None or not built.kept:
            asyncio.run(_admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            print(f"dropped database {name}", flush=True)
