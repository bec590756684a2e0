"""Times ``close_statements`` (``cardcrm statements close``) on a throwaway database.

    python -m bench.statements          # PostgreSQL, 100,000 customers, ~1,000,000 transactions
    python -m bench.statements --backend sqlite --customers 10000 --transactions 100000

Loads ``bench.statements_data`` (cards on statement days 1–28 by id, two cycles of purchases
and repayments before ``AS_OF``) into a database of its own (``bench.evaluation``'s
throwaway), then times four closes, each with its commit:

1. **spread, first**: the statement day one month before ``AS_OF``: the ~1/28 of the cards
   on that day get their first statement (carrying everything before it);
2. **spread, second**: ``AS_OF`` itself: the same cards' second statement, after the first
   one's due date is settled; every card's standing is updated;
3. **all cards, first** and 4. **all cards, second**: every card moved to the day before
   (``UPDATE cards SET statement_day``), the worst case of a bank with a single statement
   day: the same two closes for every card at once. The target (60 s) is for the worst
   case's second close, the heaviest: a statement for every card, every first statement's
   due date settled, every card's standing.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, event, text, update

import migrations
from bench.evaluation import DEFAULT_POSTGRES, throwaway_url
from bench.evaluation_data import Volume
from bench.statements_data import fill, month_back
from core.database import Database
from core.settings import Environment, Settings
from models.cards.card import Card
from resolvers.cards.statements import CloseSummary, close_statements

AS_OF = date(2026, 6, 15)


@dataclass(frozen=True)
class Timed:
    label: str
    seconds: float
    summary: CloseSummary
    # The close's SQL statements, slowest first: (seconds, the statement's first words).
    statements: list[tuple[float, str]] = field(default_factory=list)

    def line(self) -> str:
        slowest = "; ".join(f"{sql} {seconds:.2f} s" for seconds, sql in self.statements[:3])
        return (
            f"  {self.label}: {self.seconds:.2f} s; {self.summary.line()}\n    slowest: {slowest}"
        )


class StatementClock:
    """Times each SQL statement the engine runs, from its creation to ``drain()``."""

    def __init__(self, engine: Engine) -> None:
        self.taken: list[tuple[float, str]] = []
        self._began: list[float] = []
        self._engine = engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *args: Any) -> None:
        self._began.append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        words = " ".join(statement.split())[:70]
        self.taken.append((time.perf_counter() - self._began.pop(), words))

    def drain(self) -> list[tuple[float, str]]:
        """Stops listening; the statements' times, slowest first."""
        event.remove(self._engine, "before_cursor_execute", self._before)
        event.remove(self._engine, "after_cursor_execute", self._after)
        return sorted(self.taken, reverse=True)


@dataclass
class Result:
    rows: int
    load_seconds: float
    closes: list[Timed] = field(default_factory=list)


async def timed_close(database: Database, settings: Settings, label: str, day: date) -> Timed:
    clock = StatementClock(database.engine.sync_engine)
    started = time.perf_counter()
    async with database.session() as session:
        summary = await close_statements(session=session, settings=settings, as_of=day)
        await session.commit()
    return Timed(label, time.perf_counter() - started, summary, clock.drain())


async def run_closes(url: str, volume: Volume, as_of: date = AS_OF) -> Result:
    """Migrates and fills the empty database at ``url``, then the four timed closes."""
    await asyncio.to_thread(migrations.upgrade, url)
    database = Database(url)
    settings = Settings(environment=Environment.TEST, database_url=url)
    try:
        started = time.perf_counter()
        rows = await fill(database, volume, as_of=as_of)
        result = Result(rows, time.perf_counter() - started)
        first = month_back(as_of, 1)
        result.closes.append(await timed_close(database, settings, "spread, first", first))
        result.closes.append(await timed_close(database, settings, "spread, second", as_of))
        single = as_of - timedelta(days=1)
        async with database.session() as session:
            await session.execute(update(Card).values(statement_day=single.day))
            await session.commit()
            if not database.is_sqlite:
                await session.execute(text("ANALYZE cards"))
                await session.commit()
        first, second = month_back(single, 1), single
        result.closes.append(await timed_close(database, settings, "all cards, first", first))
        result.closes.append(await timed_close(database, settings, "all cards, second", second))
        return result
    finally:
        await database.dispose()


async def bench(backend: str, volume: Volume, postgres: str) -> None:
    async with throwaway_url(backend, postgres) as url:
        result = await run_closes(url, volume)
        print(f"{backend}: loaded {result.rows} rows in {result.load_seconds:.1f} s")
        for timed in result.closes:
            print(timed.line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--customers", type=int, default=Volume.customers)
    parser.add_argument("--cards", type=int, default=None, help="default: 1.5 per customer")
    parser.add_argument("--transactions", type=int, default=Volume.transactions)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="maintenance database URL")
    args = parser.parse_args()
    cards = args.cards if args.cards is not None else args.customers * 3 // 2
    volume = Volume(args.customers, max(cards, args.customers), args.transactions)
    asyncio.run(bench(args.backend, volume, args.postgres))


if __name__ == "__main__":
    main()
