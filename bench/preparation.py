"""What a run adds to its database after the dataset and before any server starts.

1. The customers evaluated once, as ``cardcrm evaluate`` does it
   (``resolvers.growth.evaluation.evaluate_customers``), as of the dataset's reference date: the
   dataset is loaded with COPY, so no customer has ``customer_metrics`` until then, and
   W2's ``recommendedOffers`` (ranked by the metrics' spend) would be empty for cardcrm and
   PostGraphile alike.
2. The plain-text twins (``bench.plain_twins``) that PostGraphile and the bare handler's
   ``/w1-plain`` serve, copied after the evaluation so they hold its stages, tiers,
   segments and metrics.

A reused database (``--database NAME``) keeps both when they are there: its metrics are
not evaluated again, and its twins are rebuilt only when they no longer match (the
evaluation ran, or their row counts differ from the public tables').
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg

from bench.databases import BenchDatabase
from bench.dataset import AS_OF, bench_settings
from bench.plain_twins import add_plain_twins, asyncpg_dsn
from core.database import Database
from resolvers.growth.evaluation import evaluate_customers

# Twins whose row count must equal their public table's for kept twins to be reused.
COUNTED_TWINS = ("customers", "cards", "customer_metrics", "offer_assignments")


@dataclass(frozen=True)
class Step:
    """One preparation step: done in this run, or skipped because the database had it."""

    ran: bool
    seconds: float
    detail: str


@dataclass(frozen=True)
class Preparation:
    evaluation: Step
    plain_twins: Step | None  # None: no server of this run reads the twins

    def as_dict(self) -> dict[str, Any]:
        return {
            "evaluation": asdict(self.evaluation),
            "plain_twins": asdict(self.plain_twins) if self.plain_twins else None,
        }


async def _fetchval(url: str, query: str) -> Any:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


async def has_metrics(url: str) -> bool:
    return bool(await _fetchval(url, "SELECT EXISTS (SELECT 1 FROM customer_metrics)"))


async def twins_match(url: str) -> bool:
    """The schema ``plain`` is there and its twins hold as many rows as the public tables."""
    if await _fetchval(url, "SELECT to_regclass('plain.customer_metrics')") is None:
        return False
    same = " AND ".join(
        f"(SELECT count(*) FROM public.{t}) = (SELECT count(*) FROM plain.{t})"
        for t in COUNTED_TWINS
    )
    return bool(await _fetchval(url, f"SELECT {same}"))


async def evaluate(url: str, master_key: str) -> Step:
    """Every customer evaluated as of the dataset's reference date, unless metrics exist."""
    if await has_metrics(url):
        return Step(False, 0.0, "customer_metrics already there (reused database)")
    database = Database(url)
    try:
        summary = await evaluate_customers(
            database=database,
            settings=bench_settings(url, master_key),
            audit_event=None,  # a benchmark's fixture, not an audited run
            as_of=AS_OF,
        )
    finally:
        await database.dispose()
    detail = f"{summary.evaluated:,} customers as of {AS_OF.date().isoformat()}"
    return Step(True, round(summary.seconds, 1), detail)


async def plain_twins(url: str, master_key: str, *, rebuild: bool) -> Step:
    if not rebuild and await twins_match(url):
        return Step(False, 0.0, "kept from an earlier run (reused database)")
    started = time.perf_counter()
    rows = await add_plain_twins(url, master_key)
    return Step(True, round(time.perf_counter() - started, 1), f"{rows:,} rows")


def _say(label: str, step: Step) -> None:
    took = f" in {step.seconds:.1f} s" if step.ran else ""
    print(f"{label}: {step.detail}{took}", flush=True)


async def prepared(url: str, master_key: str, *, twins: bool) -> Preparation:
    """Evaluates (once) and, when asked for, adds the plain twins; says what each step did."""
    evaluation = await evaluate(url, master_key)
    _say("evaluation", evaluation)
    if not twins:
        return Preparation(evaluation, None)
    # A fresh evaluation changed the customers and their metrics: the twins must follow.
    copied = await plain_twins(url, master_key, rebuild=evaluation.ran)
    _say("plain twins", copied)
    return Preparation(evaluation, copied)


def prepare(db: BenchDatabase, *, twins: bool) -> Preparation:
    """Evaluates (once) and, when a server of the run reads them, adds the plain twins."""
    return asyncio.run(prepared(db.url, db.master_key, twins=twins))
