"""``python -m bench run --quick``: cardcrm against the bare limit on one throwaway database.

1. builds the dataset (bench.dataset) in a new PostgreSQL database (dropped afterwards);
2. starts ``cardcrm serve`` (1 worker) and the bare handler, each pinned to core 0;
3. drives W1 and W2 with ``wrk`` (pinned to core 1, as PostgreSQL should be): a warm-up,
   then three timed runs, keeping the median;
4. writes bench/report.md and bench/report.json (git-ignored).

TODO(issue 6): PostGraphile, cardcrm with N workers, W3 and W4 under load, SQL statements
per request measured live (the counts reported come from tests/bench/test_workloads.py).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from api.db import Database
from api.settings import Environment, Settings
from api.state import token_service
from auth.scopes import Role
from bench.dataset import AS_OF, Sizes, build_database
from bench.evaluation import DEFAULT_POSTGRES, throwaway_url
from bench.workloads import document, w1_variables, w2_variables
from models.customer import Customer
from models.organisation import StaffUser
from schema.relay import to_global_id

HERE = Path(__file__).parent
STATEMENTS = {"W1": 3, "W2": 10, "W4": 13}  # asserted by tests/bench/test_workloads.py
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
wrk.body = os.getenv("BENCH_BODY")
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass
class Run:
    server: str
    workload: str
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pinned(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and os.cpu_count() else []


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def _peak_rss_mb(pid: int) -> float:
    """VmHWM of the process and its children (uvicorn's reloader-free worker is the child)."""
    total = 0
    pids = [pid, *_children(pid)]
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total = max(total, int(line.split()[1]))
        except OSError:
            continue
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _wrk(url: str, body: dict[str, Any], token: str, seconds: int, connections: int) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    env = {**os.environ, "BENCH_BODY": json.dumps(body), "BENCH_AUTH": f"Bearer {token}"}
    command = [*_pinned(1), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script.name]
    output = subprocess.run(
        [*command, url], env=env, capture_output=True, text=True, check=True
    ).stdout
    os.unlink(script.name)
    line = next(x for x in output.splitlines() if x.startswith("RESULT"))
    requests, micros, p50, p95, p99, errors = (int(v) for v in line.split()[1:])
    return Run("", "", requests / (micros / 1e6), p50 / 1e3, p95 / 1e3, p99 / 1e3, errors)


def _measure(
    server: str, workload: str, url: str, body: dict[str, Any], token: str, args: Any
) -> Run:
    _wrk(url, body, token, args.warmup, args.connections)
    runs = sorted(
        (_wrk(url, body, token, args.duration, args.connections) for _ in range(3)),
        key=lambda r: r.rps,
    )
    median = runs[1]
    median.server, median.workload = server, workload
    return median


async def _agent(url: str) -> tuple[StaffUser, str]:
    database = Database(url)
    try:
        async with database.session() as session:
            agent = (
                await session.scalars(
                    select(StaffUser).where(col(StaffUser.username) == "demo-agent")
                )
            ).one()
            customer = await session.scalar(
                select(col(Customer.id)).where(col(Customer.branch_id) == agent.branch_id).limit(1)
            )
    finally:
        await database.dispose()
    return agent, to_global_id("Customer", customer)


def _serve_and_measure(
    env: dict[str, str], token: str, customer_id: str, args: Any
) -> tuple[list[Run], dict[str, float]]:
    """Starts both servers pinned to core 0, drives them, stops them; logs go to var/."""
    cardcrm_port, bare_port = _free_port(), _free_port()
    bin_dir = Path(sys.executable).parent
    log = Path(env["CARDCRM_VAR_DIR"]) / "cardcrm.log"
    with log.open("wb") as log_file:
        servers = {
            "cardcrm": subprocess.Popen(
                [*_pinned(0), str(bin_dir / "cardcrm"), "serve", "--port", str(cardcrm_port)],
                env=env,
                stdout=log_file,
                stderr=log_file,
            ),
            "bare": subprocess.Popen(
                [
                    *_pinned(0),
                    str(bin_dir / "uvicorn"),
                    "--factory",
                    "bench.bare:app_from_environment",
                    "--port",
                    str(bare_port),
                    "--log-level",
                    "warning",
                ],
                env=env,
            ),
        }
        try:
            _wait(f"http://127.0.0.1:{cardcrm_port}/healthz", servers["cardcrm"])
            _wait(f"http://127.0.0.1:{bare_port}/w1", servers["bare"])
            graphql = f"http://127.0.0.1:{cardcrm_port}/graphql"
            w1 = {"query": document("W1"), "variables": w1_variables()}
            w2 = {"query": document("W2"), "variables": w2_variables(customer_id)}
            runs = [
                _measure("cardcrm", "W1", graphql, w1, token, args),
                _measure("cardcrm", "W2", graphql, w2, token, args),
                _measure("bare", "W1", f"http://127.0.0.1:{bare_port}/w1", w1, token, args),
            ]
            rss = {name: _peak_rss_mb(p.pid) for name, p in servers.items()}
        finally:
            for process in servers.values():
                process.terminate()
                process.wait(timeout=30)
    return runs, rss


async def run(args: Any) -> dict[str, Any]:
    sizes = Sizes().scaled(args.scale)
    master_key = base64.b64encode(os.urandom(32)).decode()
    var_dir = Path(tempfile.mkdtemp(prefix="cardcrm-bench-"))
    async with throwaway_url("postgresql", args.postgres) as url:
        built = await build_database(url, master_key, sizes)
        print(f"dataset: {built.rows} in {built.seconds:.1f} s", flush=True)
        agent, customer_id = await _agent(url)
        settings = Settings(environment=Environment.DEVELOPMENT, database_url=url, var_dir=var_dir)
        token = token_service(settings).issue(
            subject=str(agent.id),
            role=Role(agent.role),
            client_id="cardcrm-console",
            branch_id=agent.branch_id,
            username=agent.username,
            ttl=3600,
        )
        env = {
            **os.environ,
            "CARDCRM_ENVIRONMENT": "development",
            "CARDCRM_DATABASE_URL": url,
            "CARDCRM_MASTER_KEY": master_key,
            "CARDCRM_VAR_DIR": str(var_dir),
            "CARDCRM_RATE_LIMITS_ENABLED": "false",
            "BARE_BRANCH_ID": str(agent.branch_id),
        }
        runs, rss = await asyncio.to_thread(_serve_and_measure, env, token, customer_id, args)
        shutil.rmtree(var_dir, ignore_errors=True)
    return {
        "as_of": AS_OF.isoformat(),
        "scale": args.scale,
        "rows": built.rows,
        "dataset_seconds": round(built.seconds, 1),
        "connections": args.connections,
        "duration_s": args.duration,
        "runs": [asdict(r) for r in runs],
        "sql_statements_per_request": STATEMENTS,
        "peak_rss_mb": rss,
    }


def write_report(result: dict[str, Any]) -> None:
    (HERE / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    cardcrm_w1 = next(
        r for r in result["runs"] if r["server"] == "cardcrm" and r["workload"] == "W1"
    )
    lines = [
        "# cardcrm benchmark",
        "",
        f"Scale {result['scale']}: {result['rows']}. {result['connections']} connections, "
        f"{result['duration_s']} s per run, median of three after a warm-up.",
        "",
        "| server | workload | req/s | ratio to cardcrm W1 | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        ratio = r["rps"] / cardcrm_w1["rps"] if r["workload"] == "W1" else float("nan")
        lines.append(
            f"| {r['server']} | {r['workload']} | {r['rps']:.0f} | {ratio:.2f} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} |"
        )
    lines += [
        "",
        f"SQL statements per request (cardcrm): {result['sql_statements_per_request']}",
        f"Peak RSS (MB): {result['peak_rss_mb']}",
        "",
        "TODO: PostGraphile, cardcrm with N workers, W3 and W4 under load.",
    ]
    (HERE / "report.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="build the dataset, run the servers, report")
    run_parser.add_argument("--quick", action="store_true", help="scale 0.02, 5 s runs")
    run_parser.add_argument("--scale", type=float, default=1.0)
    run_parser.add_argument("--duration", type=int, default=15)
    run_parser.add_argument("--warmup", type=int, default=5)
    run_parser.add_argument("--connections", type=int, default=16)
    run_parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    if args.quick:
        args.scale, args.duration, args.warmup = 0.02, 5, 2
    result = asyncio.run(run(args))
    write_report(result)
    print(json.dumps(result["runs"], indent=2))
    print(f"wrote {HERE / 'report.md'}")


if __name__ == "__main__":
    main()
