"""Times the fraud and risk alert rules (``cardcrm risk scan``) on a throwaway database.

    python -m bench.alert_rules                     # PostgreSQL, 100,000 customers, 1,000,000 tx
    python -m bench.alert_rules --backend sqlite --customers 10000 --transactions 100000

The data is the evaluation benchmark's (``bench.evaluation_data``: ~1.5 cards a customer,
purchases over a year, a quarter of them at night), plus what the rules look for: a burst of
six purchases in five minutes on 1% of the cards, a first foreign-currency purchase and a
purchase far above the usual for 1% of the customers each; and ``customer_metrics`` as an
evaluation leaves them (frequency and spend per customer). Then the scan runs over every
purchase twice: the first raises the alerts, the second must raise none (natural keys) and
shows what a re-run costs. Target (issue 14): the first scan under 60 s on PostgreSQL at
100,000 customers and 1,000,000 transactions.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

import migrations
from bench.evaluation import AS_OF, DEFAULT_POSTGRES, throwaway_url
from bench.evaluation_data import TRANSACTION_COLUMNS, Volume, _load_postgres, _load_sqlite, fill
from core.database import Database
from core.settings import Environment, Settings
from resolvers.risk.rules_scan import ScanSummary, scan

SHARE = 0.01  # of the cards with a burst; of the customers with a foreign or a big purchase
METRICS = """
INSERT INTO customer_metrics (customer_id, evaluated_at, window_days, frequency,
  monetary_cents, annual_spend_cents, annual_transactions, churn_score, churn_reasons,
  risk_reasons, category_spend)
SELECT c.customer_id, CURRENT_TIMESTAMP, 365, COUNT(*), SUM(t.amount_cents),
  SUM(t.amount_cents), COUNT(*), 0.0, '[]', '[]', '{}'
FROM transactions t JOIN cards c ON c.id = t.card_id
GROUP BY c.customer_id
"""


@dataclass
class AlertBench:
    backend: str
    transactions: int = 0
    first: ScanSummary | None = None
    first_seconds: float = 0.0
    second: ScanSummary | None = None
    second_seconds: float = 0.0
    by_rule: dict[str, int] = field(default_factory=dict)


def _row(
    card_id: uuid.UUID, when: datetime, amount: int, currency: str, key: str
) -> tuple[Any, ...]:
    return (uuid.uuid4(), card_id, amount, currency, "某商户", "shopping", "pos", when, key, when)


def pattern_rows(rng: random.Random, cards: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    """Bursts, first foreign currencies and big purchases on a sample of the cards."""
    rows: list[tuple[Any, ...]] = []
    sample = max(1, int(len(cards) * SHARE))
    for index, card_id in enumerate(rng.sample(cards, sample)):
        start = AS_OF - timedelta(days=rng.uniform(1, 300))
        rows += [
            _row(
                card_id, start + timedelta(minutes=minute), 9_900, "CNY", f"burst-{index}-{minute}"
            )
            for minute in range(6)
        ]
    for index, card_id in enumerate(rng.sample(cards, sample)):
        when = AS_OF - timedelta(days=rng.uniform(1, 300))
        rows.append(_row(card_id, when, 35_000, "USD", f"foreign-{index}"))
    for index, card_id in enumerate(rng.sample(cards, sample)):
        when = AS_OF - timedelta(days=rng.uniform(1, 300))
        rows.append(_row(card_id, when, 5_000_000, "CNY", f"big-{index}"))
    return rows


async def prepare(database: Database, volume: Volume) -> int:
    """The bench data, the patterns and the metrics; returns the transactions stored."""
    await fill(database, volume, as_of=AS_OF)
    async with database.session() as session:
        cards = list(await session.scalars(text("SELECT id FROM cards ORDER BY id")))
    cards = [card if isinstance(card, uuid.UUID) else uuid.UUID(str(card)) for card in cards]
    extra = [("transactions", TRANSACTION_COLUMNS, iter(pattern_rows(random.Random(2), cards)))]
    if database.is_sqlite:
        from sqlalchemy.engine import make_url

        await asyncio.to_thread(_load_sqlite, str(make_url(database.url).database), extra)
    else:
        await _load_postgres(database.url, extra)
    async with database.session() as session:
        await session.execute(text(METRICS))
        if not database.is_sqlite:
            await session.execute(text("ANALYZE customer_metrics"))
        await session.commit()
        return int(await session.scalar(text("SELECT COUNT(*) FROM transactions")) or 0)


async def bench(backend: str, volume: Volume, postgres: str) -> AlertBench:
    result = AlertBench(backend)
    async with throwaway_url(backend, postgres) as url:
        await asyncio.to_thread(migrations.upgrade, url)
        database = Database(url)
        try:
            started = time.perf_counter()
            result.transactions = await prepare(database, volume)
            print(
                f"{backend}: loaded {result.transactions:,} transactions "
                f"in {time.perf_counter() - started:.1f} s"
            )
            settings = Settings(environment=Environment.TEST, database_url=url)
            since = AS_OF - timedelta(days=3650)
            started = time.perf_counter()
            result.first = await scan(database=database, settings=settings, since=since)
            result.first_seconds = time.perf_counter() - started
            started = time.perf_counter()
            result.second = await scan(database=database, settings=settings, since=since)
            result.second_seconds = time.perf_counter() - started
            async with database.session() as session:
                rows = await session.execute(
                    text("SELECT rule, COUNT(*) FROM risk_alerts GROUP BY rule")
                )
                result.by_rule = dict(sorted(Counter({rule: n for rule, n in rows}).items()))
        finally:
            await database.dispose()
    report(result)
    return result


def report(result: AlertBench) -> None:
    assert result.first is not None
    assert result.second is not None
    rules = ", ".join(f"{rule} {count:,}" for rule, count in result.by_rule.items())
    print(
        f"  first scan: {result.first_seconds:.1f} s for {result.first.checked:,} purchases "
        f"({result.first.chunks} chunks): {result.first.raised:,} alerts ({rules or 'none'})"
    )
    print(f"  second scan: {result.second_seconds:.1f} s, {result.second.raised:,} new alerts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="postgresql")
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
