"""Times ``cardcrm tasks generate`` on a throwaway database.

    python -m bench tasks                               # PostgreSQL, 100,000 customers
    python -m bench.tasks --backend sqlite --customers 5000

Loads the evaluation's bench customers and cards (``bench.evaluation_data``, no
transactions: generation reads none), makes the facts tasks come from set-based
(``bench.tasks_data``), then times one run of ``resolvers.tasks.generation.generate`` for
a holiday (1 October, so the holiday care runs too) with its commit, as the command does;
then the same day again, which must write nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

import migrations
from bench.evaluation import DEFAULT_POSTGRES, throwaway_url
from bench.evaluation_data import Volume, fill
from bench.tasks_data import make_facts
from core.database import Database
from core.encryption import KeyRing
from core.settings import Environment, Settings
from models.key_store import load_key_ring, master_key_from_settings
from resolvers.tasks.generation import GenerateSummary, generate

AS_OF = date(2026, 10, 1)


@dataclass(frozen=True)
class TasksBench:
    backend: str
    customers: int
    first: GenerateSummary
    seconds: float
    again: int
    again_seconds: float

    def line(self) -> str:
        kinds = ", ".join(f"{kind.value} {count:,}" for kind, count in self.first.created.items())
        return (
            f"{self.backend}: generated {self.first.total:,} tasks for {self.customers:,} "
            f"customers in {self.seconds:.1f} s ({kinds}; assigned {self.first.assigned:,}); "
            f"again: {self.again} in {self.again_seconds:.1f} s"
        )


async def _generate(database: Database, settings: Settings, ring: KeyRing) -> GenerateSummary:
    async with database.session() as session:
        summary = await generate(session, settings, ring, AS_OF)
        await session.commit()
    return summary


async def bench(backend: str, customers: int, postgres: str) -> TasksBench:
    async with throwaway_url(backend, postgres) as url:
        await asyncio.to_thread(migrations.upgrade, url)
        database = Database(url)
        try:
            settings = Settings(
                environment=Environment.TEST,
                database_url=url,
                master_key=base64.b64encode(os.urandom(32)).decode(),
            )
            async with database.session() as session:
                ring = await load_key_ring(session, master_key_from_settings(settings))
                await session.commit()
            started = time.perf_counter()
            volume = Volume(customers, customers * 3 // 2, 0)
            rows = await fill(database, volume, as_of=datetime(2026, 9, 30, tzinfo=UTC))
            await make_facts(database, ring, AS_OF)
            print(
                f"{backend}: loaded {rows:,} rows and the facts in "
                f"{time.perf_counter() - started:.1f} s"
            )
            started = time.perf_counter()
            first = await _generate(database, settings, ring)
            seconds = time.perf_counter() - started
            started = time.perf_counter()
            again = await _generate(database, settings, ring)
            return TasksBench(
                backend, customers, first, seconds, again.total, time.perf_counter() - started
            )
        finally:
            await database.dispose()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--backend", choices=["sqlite", "postgresql", "both"], default="postgresql")
    add("--customers", type=int, default=Volume.customers)
    add("--postgres", default=DEFAULT_POSTGRES, help="maintenance database URL")


def run(args: argparse.Namespace) -> None:
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        print(asyncio.run(bench(backend, args.customers, args.postgres)).line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
