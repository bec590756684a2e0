"""Times ``evaluate_customers`` on a throwaway database of each backend.

    python -m bench.evaluation                      # SQLite and PostgreSQL, default volume
    python -m bench.evaluation --backend sqlite --customers 10000 --transactions 100000

Each run creates a database of its own (a SQLite file in a temporary directory; a PostgreSQL
database ``cardcrm_bench_*`` on ``--postgres``, dropped afterwards), migrates it, loads the
bench data (``bench.evaluation_data``), then evaluates twice: the first run moves everyone
into their stage and tier, the second finds nothing new and must change nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

import migrations
from bench.evaluation_data import Volume, fill
from core.database import Database
from core.settings import Environment, Settings
from resolvers.growth.evaluation import EvaluationSummary, evaluate_customers

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@asynccontextmanager
async def throwaway_url(backend: str, postgres: str) -> AsyncIterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="cardcrm-bench-") as directory:
            yield f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        return
    import asyncpg

    admin = make_url(postgres).set(drivername="postgresql")
    name = f"cardcrm_bench_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    await connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


def _line(label: str, summary: EvaluationSummary) -> str:
    stages = ", ".join(f"{stage} {count}" for stage, count in sorted(summary.stage_changes.items()))
    return (
        f"  {label}: {summary.seconds:.1f} s for {summary.evaluated} customers; "
        f"stage changes: {stages or 'none'}; upgrades {summary.upgrades}, "
        f"downgrades {summary.downgrades}, segment changes {summary.segment_changes}"
    )


async def bench(backend: str, volume: Volume, postgres: str) -> None:
    async with throwaway_url(backend, postgres) as url:
        await asyncio.to_thread(migrations.upgrade, url)
        database = Database(url)
        try:
            started = time.perf_counter()
            rows = await fill(database, volume, as_of=AS_OF)
            print(f"{backend}: loaded {rows} rows in {time.perf_counter() - started:.1f} s")
            settings = Settings(environment=Environment.TEST, database_url=url)
            first = await evaluate_customers(
                database=database, settings=settings, audit_event=None, as_of=AS_OF
            )
            print(_line("first run", first))
            second = await evaluate_customers(
                database=database, settings=settings, audit_event=None, as_of=AS_OF
            )
            print(_line("second run", second))
        finally:
            await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--customers", type=int, default=Volume.customers)
    parser.add_argument("--cards", type=int, default=None, help="default: 1.5 per customer")
    parser.add_argument("--transactions", type=int, default=Volume.transactions)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="maintenance database URL")
    args = parser.parse_args()
    cards = args.cards if args.cards is not None else args.customers * 3 // 2
    volume = Volume(args.customers, max(cards, args.customers), args.transactions)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        asyncio.run(bench(backend, volume, args.postgres))


if __name__ == "__main__":
    main()
