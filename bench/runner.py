"""One benchmark run, start to finish: the peer, the database, the callers, every server in
turn.

1. PostGraphile installed (``bench.postgraphile.install_for_run``) unless the run leaves it
   out: if it cannot be (no npm, no registry) the run goes on without it, and says why;
2. the dataset (``bench.databases``: a throwaway database, or a kept one), then the
   customers evaluated once and the plain-text twins (``bench.preparation``);
3. the callers (``Fixtures``): an agent's and a marketer's token, a W2 customer, and W3's
   merchant with its OAuth client;
4. PostgreSQL pinned to the load core for the whole run (``bench.pinning``);
5. each server of ``bench.lineup`` alone: started, driven through its workloads by wrk
   (``bench.load``: warm-up, then the median of three), its statements per request read
   from its log (``bench.server_log``), its peak memory taken, stopped; for W3 a pool of
   codes is issued just before and checked and removed after (``bench.redeem_codes``);
6. the result as a plain dict, which ``bench.report`` writes.

Everything started is stopped however the run ends (errors and Ctrl-C included): servers
by process group, PostgreSQL's affinity restored, a throwaway database dropped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bench.databases import BenchDatabase, bench_database
from bench.dataset import bench_settings
from bench.fixtures import make_fixtures
from bench.lineup import COMPILED_SWITCH, POSTGRAPHILE, READS_PLAIN_TWINS, lineup
from bench.load import RUNS, CodeFeed, Load, Measurement, WrkResult, measure, run_wrk
from bench.machine import machine_facts, postgres_facts
from bench.pinning import LOAD_CORE, SERVER_CORE, can_pin, pinned_postgres
from bench.postgraphile import Availability, install_for_run
from bench.preparation import prepare
from bench.redeem_codes import (
    CodePool,
    count_redemptions,
    issue_pool,
    remove_pool,
)
from bench.server_log import lines_since, log_size, median_statements
from bench.servers import (
    Endpoint,
    RunningServer,
    ServerSpec,
    authorization_header,
    peak_memory_mb,
    resident_memory_mb,
    running,
)
from core.database import Database
from core.settings import Environment, Settings
from models.key_store import load_key_ring, master_key_from_settings

T = TypeVar("T")
LOGS = Path(__file__).parent / "results" / "logs"  # git-ignored; the last run's server logs


@dataclass(frozen=True)
class Options:
    mode: str  # "quick" or "full"
    scale: float
    duration: int
    warmup: int
    connections: int
    w4_connections: int
    w3_rate_cap: int  # req/s W3's code pool is sized for
    postgres: str
    database: str | None = None
    keep_database: str | None = None
    servers: frozenset[str] | None = None  # None: all
    workloads: frozenset[str] | None = None
    note: str | None = None


@dataclass
class WorkloadResult:
    server: str
    workload: str
    connections: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int  # completed in the three timed runs
    errors: int  # socket errors, non-2xx, GraphQL errors (W3: userErrors) in those runs
    runs_rps: list[float]
    sql_statements: float | None = None  # median per request, from the server's log
    w3: dict[str, Any] | None = None


@dataclass
class ServerResult:
    name: str
    pinning: str
    workers: int
    peak_memory_mb: float
    processes: int
    results: list[WorkloadResult] = field(default_factory=list)
    resident_after_mb: float | None = None  # VmRSS over the tree once its workloads ran


def _with_database(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """``work(database)`` on a database opened and disposed in its own event loop."""

    async def run() -> T:
        database = Database(url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


def _server_env(db: BenchDatabase, var_dir: Path) -> dict[str, str]:
    """What every server is started with; cardcrm's own switches are left at their default
    (a server entry sets those it wants)."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in {COMPILED_SWITCH, "CARDCRM_WORKERS"}
    }
    return {
        **inherited,
        "CARDCRM_ENVIRONMENT": "development",
        "CARDCRM_DATABASE_URL": db.url,
        "CARDCRM_MASTER_KEY": db.master_key,
        "CARDCRM_VAR_DIR": str(var_dir),
        "CARDCRM_RATE_LIMITS_ENABLED": "false",
    }


@dataclass
class RunContext:
    """What a run needs everywhere: its options, database and scratch directory."""

    options: Options
    db: BenchDatabase
    var_dir: Path
    env: dict[str, str]
    log_dir: Path = LOGS

    def load(self, workload: str) -> Load:
        connections = self.options.w4_connections if workload == "W4" else self.options.connections
        return Load(connections, self.options.duration)

    def pool_size(self, connections: int) -> int:
        """Codes for a warm-up and three runs at ``w3_rate_cap``, plus what every run may
        leave in flight when wrk stops."""
        seconds = self.options.warmup + 3 * self.options.duration
        return self.options.w3_rate_cap * seconds + connections * 4

    def issue_pool(self, merchant_id: uuid.UUID, size: int) -> CodePool:
        async def work(database: Database) -> CodePool:
            settings = bench_settings(self.db.url, self.db.master_key)
            async with database.session() as session:
                ring = await load_key_ring(session, master_key_from_settings(settings))
            return await issue_pool(database, ring, merchant_id, size)

        return _with_database(self.db.url, work)


def _measure_workload(
    context: RunContext,
    server: RunningServer,
    workload: str,
    endpoint: Endpoint,
    codes: CodeFeed | None,
) -> tuple[WorkloadResult, Measurement]:
    load = context.load(workload)
    authorization = authorization_header(endpoint.auth, server.base_url)
    offset = log_size(server.log_path)

    def once(seconds: int) -> WrkResult:
        return run_wrk(
            server.url(endpoint.path),
            endpoint.body,
            authorization=authorization,
            load=Load(load.connections, seconds),
            codes=codes,
        )

    measured = measure(once, warmup_seconds=context.options.warmup, seconds=load.seconds)
    statements = (
        median_statements(lines_since(server.log_path, offset))
        if server.spec.logs_sql_statements
        else None
    )
    median = measured.median
    result = WorkloadResult(
        server=server.spec.name,
        workload=workload,
        connections=load.connections,
        rps=round(median.rps, 1),
        p50_ms=median.p50_ms,
        p95_ms=median.p95_ms,
        p99_ms=median.p99_ms,
        requests=sum(r.requests for r in measured.runs),
        errors=sum(r.errors for r in measured.runs),
        runs_rps=[round(r.rps, 1) for r in measured.runs],
        sql_statements=statements,
    )
    print(
        f"  {server.spec.name} {workload}: {median.rps:.0f} req/s, p99 {median.p99_ms:.1f} ms, "
        f"{result.errors} errors, "
        f"{'–' if statements is None else f'{statements:g}'} SQL statements/request",
        flush=True,
    )
    return result, measured


def w3_check(measured: Measurement, redemptions: int, pool_size: int) -> dict[str, Any]:
    """W3's bookkeeping over the warm-up and the runs: every answered success is a
    redemption in the database, and there are no more redemptions than codes taken."""
    every = [measured.warmup, *measured.runs]
    taken = sum(r.codes_taken for r in every)
    ok = sum(r.requests - r.failed for r in every)
    return {
        "pool": pool_size,
        "codes_taken": taken,
        "ok_responses": ok,
        "failed_responses": sum(r.failed for r in every),
        "redemptions": redemptions,
        "exhausted": taken > pool_size,
        "consistent": ok <= redemptions <= taken <= pool_size,
    }


def _pinning_of(spec: ServerSpec, server: RunningServer) -> str:
    if spec.core is None:
        return f"not pinned ({spec.workers} workers over all cores)"
    return f"core {spec.core}" if server.pinned else "not pinned (could not)"


def _code_feed(
    context: RunContext, server: RunningServer, workload: str, merchant_id: uuid.UUID
) -> tuple[CodePool, CodeFeed]:
    """A fresh pool of W3 codes, sized for this workload's load, written for wrk."""
    started = time.monotonic()
    pool = context.issue_pool(merchant_id, context.pool_size(context.load(workload).connections))
    seconds = time.monotonic() - started
    print(f"  {workload}: {len(pool.codes):,} codes issued in {seconds:.1f} s", flush=True)
    path = pool.write(context.var_dir / f"{server.spec.name}-{workload}-codes.txt")
    return pool, CodeFeed(path, len(pool.codes))


def serve_and_measure(
    context: RunContext, spec: ServerSpec, merchant_id: uuid.UUID
) -> ServerResult:
    """One server alone: its workloads, its memory; W3's pools checked and removed after."""
    print(f"{spec.name}:", flush=True)
    wanted = context.options.workloads
    issued: list[CodePool] = []
    to_check: list[tuple[CodePool, WorkloadResult, Measurement]] = []
    try:
        with running(spec, context.env, context.log_dir) as server:
            result = ServerResult(spec.name, _pinning_of(spec, server), spec.workers, 0.0, 0)
            for workload, endpoint in spec.workloads.items():
                if wanted is not None and workload not in wanted:
                    continue
                pool, feed = None, None
                if endpoint.one_time_codes:
                    pool, feed = _code_feed(context, server, workload, merchant_id)
                    issued.append(pool)
                measured_result, measured = _measure_workload(
                    context, server, workload, endpoint, feed
                )
                result.results.append(measured_result)
                if pool is not None:
                    to_check.append((pool, measured_result, measured))
            result.peak_memory_mb, result.processes = peak_memory_mb(server.pid)
            result.resident_after_mb = resident_memory_mb(server.pid)
        # Stopped gracefully: every request it accepted has committed or rolled back.
        for pool, measured_result, measured in to_check:
            redemptions = _with_database(context.db.url, partial(count_redemptions, pool=pool))
            measured_result.w3 = w3_check(measured, redemptions, len(pool.codes))
    finally:
        for pool in issued:
            _with_database(context.db.url, partial(remove_pool, pool=pool))
    return result


def _fresh_logs() -> Path:
    shutil.rmtree(LOGS, ignore_errors=True)
    LOGS.mkdir(parents=True)
    return LOGS


@contextmanager
def _scratch() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="cardcrm-bench-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _wanted(options: Options, name: str) -> bool:
    return options.servers is None or name in options.servers


def _postgraphile(options: Options) -> Availability:
    if not _wanted(options, POSTGRAPHILE):
        return Availability(None, "left out of this run (--servers)")
    availability = install_for_run()
    if availability.installation is None:
        print(f"postgraphile: not run: {availability.reason}", flush=True)
    return availability


def run(options: Options) -> dict[str, Any]:
    """The whole run; returns the result ``bench.report`` renders."""
    started = time.monotonic()
    load_average = os.getloadavg()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    peer = _postgraphile(options)
    with (
        bench_database(
            options.postgres, options.scale, reuse=options.database, keep=options.keep_database
        ) as db,
        _scratch() as var_dir,
    ):
        version, postmaster = asyncio.run(postgres_facts(db.url))
        twins = any(_wanted(options, name) for name in READS_PLAIN_TWINS)
        preparation = prepare(db, twins=twins)
        settings = Settings(
            environment=Environment.DEVELOPMENT,
            database_url=db.url,
            var_dir=var_dir,
            master_key=db.master_key,  # the servers' (CARDCRM_MASTER_KEY in _server_env)
        )
        fixtures = _with_database(db.url, lambda database: make_fixtures(database, settings))
        print(f"W2's customer: recommended offers: {fixtures.recommended_offers}", flush=True)
        specs = [
            spec
            for spec in lineup(fixtures, db, postgraphile_installation=peer.installation)
            if _wanted(options, spec.name)
        ]
        context = RunContext(options, db, var_dir, _server_env(db, var_dir), _fresh_logs())
        with pinned_postgres(postmaster) as postgres_pinning:
            servers = [
                serve_and_measure(context, spec, fixtures.merchant.merchant_id) for spec in specs
            ]
    return {
        "started_at": started_at,
        "mode": options.mode,
        "note": options.note,
        "machine": machine_facts(version, load_average),
        "pinning": {
            "servers": f"core {SERVER_CORE} (taskset)" if can_pin(SERVER_CORE) else "not pinned",
            "load": f"core {LOAD_CORE} (taskset)" if can_pin(LOAD_CORE) else "not pinned",
            "postgresql": asdict(postgres_pinning),
        },
        "peers": {POSTGRAPHILE: peer.facts()},
        "dataset": {
            "database": db.name,
            "scale": db.scale,
            "rows": db.rows,
            "build_seconds": db.build_seconds,
            "reused": db.reused,
            "kept": db.kept,
            **preparation.as_dict(),
            "w2_recommended_offers": fixtures.recommended_offers,
        },
        "load": {
            "connections": options.connections,
            "w4_connections": options.w4_connections,
            "warmup_s": options.warmup,
            "duration_s": options.duration,
            "runs": RUNS,
            "w3_rate_cap": options.w3_rate_cap,
        },
        "servers": [asdict(server) for server in servers],
        "logs": str(LOGS.relative_to(Path.cwd())) if LOGS.is_relative_to(Path.cwd()) else str(LOGS),
        "wall_seconds": round(time.monotonic() - started, 1),
    }
