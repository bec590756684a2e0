"""Times posting points for the bench's transactions on a throwaway database.

    python -m bench points                            # PostgreSQL, 1,000,000 transactions
    python -m bench.points --backend sqlite --customers 1000 --transactions 10000

Loads the evaluation's bench data (``bench.evaluation_data``: 100,000 customers, ~150,000
cards, 1,000,000 CNY purchases by default), then posts their points as the import's batch
effect does (``resolvers.loyalty.earning.post_points``), one committed batch of
``--batch`` transactions (the import's default, 5,000) at a time, and times it; then posts
the same batches again, which must post nothing (the natural key). Reading the batches'
rows is not timed: the import has them in hand.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import migrations
from bench.evaluation import DEFAULT_POSTGRES, throwaway_url
from bench.evaluation_data import Volume, fill
from core.database import Database
from core.settings import Environment, Settings
from models.loyalty.ledger import PointsEntry
from models.transactions.transaction import Transaction
from resolvers.loyalty.earning import post_points

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
BATCH = 5000


@dataclass(frozen=True, slots=True)
class Booked:
    id: uuid.UUID
    kind: str
    currency: str
    occurred_at: datetime


@dataclass(frozen=True)
class PointsBench:
    backend: str
    transactions: int
    entries: int
    points: int
    seconds: float
    again_posted: int
    again_seconds: float

    def line(self) -> str:
        rate = self.transactions / self.seconds if self.seconds else 0.0
        return (
            f"{self.backend}: posted {self.entries:,} earn entries ({self.points:,} points) for "
            f"{self.transactions:,} transactions in {self.seconds:.1f} s ({rate:,.0f}/s); "
            f"again: {self.again_posted} posted in {self.again_seconds:.1f} s"
        )


async def _batches(database: Database, size: int) -> list[list[Booked]]:
    from sqlalchemy import select
    from sqlmodel import col

    t = Transaction
    async with database.session() as session:
        rows = await session.execute(
            select(col(t.id), col(t.kind), col(t.currency), col(t.occurred_at)).order_by(
                col(t.created_at), col(t.id)
            )
        )
        booked = [Booked(*row) for row in rows.all()]
    return [booked[start : start + size] for start in range(0, len(booked), size)]


async def _post(database: Database, settings: Settings, batches: list[list[Booked]]) -> int:
    posted = 0
    for batch in batches:
        async with database.session() as session:
            earned, _ = await post_points(session, batch, settings)
            await session.commit()
        posted += earned
    return posted


async def bench(backend: str, volume: Volume, postgres: str, *, batch: int = BATCH) -> PointsBench:
    from sqlalchemy import func, select
    from sqlmodel import col

    async with throwaway_url(backend, postgres) as url:
        await asyncio.to_thread(migrations.upgrade, url)
        database = Database(url)
        try:
            started = time.perf_counter()
            rows = await fill(database, volume, as_of=AS_OF)
            print(f"{backend}: loaded {rows:,} rows in {time.perf_counter() - started:.1f} s")
            settings = Settings(environment=Environment.TEST, database_url=url)
            batches = await _batches(database, batch)
            started = time.perf_counter()
            entries = await _post(database, settings, batches)
            seconds = time.perf_counter() - started
            started = time.perf_counter()
            again = await _post(database, settings, batches)
            again_seconds = time.perf_counter() - started
            async with database.session() as session:
                points = await session.scalar(select(func.sum(col(PointsEntry.points))))
            return PointsBench(
                backend=backend,
                transactions=sum(len(b) for b in batches),
                entries=entries,
                points=int(points or 0),
                seconds=seconds,
                again_posted=again,
                again_seconds=again_seconds,
            )
        finally:
            await database.dispose()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--backend", choices=["sqlite", "postgresql", "both"], default="postgresql")
    add("--customers", type=int, default=Volume.customers)
    add("--cards", type=int, default=None, help="default: 1.5 per customer")
    add("--transactions", type=int, default=Volume.transactions)
    add("--batch", type=int, default=BATCH, help="transactions per committed batch")
    add("--postgres", default=DEFAULT_POSTGRES, help="maintenance database URL")


def run(args: argparse.Namespace) -> None:
    cards = args.cards if args.cards is not None else args.customers * 3 // 2
    volume = Volume(args.customers, max(cards, args.customers), args.transactions)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        print(asyncio.run(bench(backend, volume, args.postgres, batch=args.batch)).line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
