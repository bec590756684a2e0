"""``python -m bench run``: cardcrm beside PostGraphile and the bare limit, on one PostgreSQL.

    python -m bench run --quick                  # scale 0.02, short runs: a few minutes
    python -m bench run                          # scale 1: 100,000 customers
    python -m bench run --keep-database bench1   # build once and keep it ...
    python -m bench run --database bench1        # ... then reuse it

Installs PostGraphile 5 from the npm registry (``bench.postgraphile``; the run goes on
without it if it cannot), builds the dataset (``bench.dataset``), evaluates the customers
and adds the plain-text twins (``bench.preparation``), starts each server of
``bench.lineup`` alone (cardcrm 1 worker, cardcrm with standard GraphQL execution, cardcrm
with one worker per core, the bare limit on sealed and on plain columns, PostGraphile),
drives W1, W2, W4 and W3 with ``wrk`` and writes bench/report.md and report.json
(git-ignored). See ``bench.runner`` for the steps; Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from bench import customers_import as bench_customers_import
from bench import points as bench_points
from bench import report
from bench import tasks as bench_tasks
from bench.evaluation import DEFAULT_POSTGRES
from bench.runner import Options, run

QUICK = {"scale": 0.02, "duration": 3, "warmup": 2}
FULL = {"scale": 1.0, "duration": 15, "warmup": 5}


def _names(value: str | None) -> frozenset[str] | None:
    return frozenset(part.strip() for part in value.split(",") if part.strip()) if value else None


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="build the dataset, run the servers, report")
    add = run_parser.add_argument
    add("--quick", action="store_true", help="scale 0.02, 3 s runs after a 2 s warm-up")
    add("--scale", type=float, help="dataset scale (default 1, or 0.02 with --quick)")
    add("--duration", type=int, help="seconds per timed run (default 15, --quick 3)")
    add("--warmup", type=int, help="seconds of warm-up (default 5, --quick 2)")
    add("--connections", type=int, default=16, help="wrk connections (W1-W3)")
    add("--w4-connections", type=int, default=1, help="wrk connections for W4")
    add("--w3-rate-cap", type=int, default=1500, help="req/s W3's pool of codes is sized for")
    add("--postgres", default=DEFAULT_POSTGRES, help="maintenance database URL")
    add("--database", metavar="NAME", help="reuse a database kept by --keep-database")
    add("--keep-database", metavar="NAME", help="build into NAME and keep it")
    add("--servers", help="comma-separated subset, e.g. cardcrm,bare,bare-plain,postgraphile")
    add("--workloads", help="comma-separated subset, e.g. W1,W2")
    add("--note", help="a line for the report (e.g. what else the machine was doing)")
    points_parser = commands.add_parser("points", help="time posting points (bench.points)")
    bench_points.add_arguments(points_parser)
    tasks_parser = commands.add_parser("tasks", help="time `tasks generate` (bench.tasks)")
    bench_tasks.add_arguments(tasks_parser)
    import_parser = commands.add_parser(
        "customers_import", help="time `cardcrm import customers` (bench.customers_import)"
    )
    bench_customers_import.add_arguments(import_parser)
    return main


def options(args: argparse.Namespace) -> Options:
    defaults = QUICK if args.quick else FULL
    if args.database and args.keep_database:
        raise SystemExit("--database reuses a kept database; --keep-database builds one")
    return Options(
        mode="quick" if args.quick else "full",
        scale=args.scale if args.scale is not None else defaults["scale"],
        duration=args.duration or int(defaults["duration"]),
        warmup=args.warmup if args.warmup is not None else int(defaults["warmup"]),
        connections=args.connections,
        w4_connections=args.w4_connections,
        w3_rate_cap=args.w3_rate_cap,
        postgres=args.postgres,
        database=args.database,
        keep_database=args.keep_database,
        servers=_names(args.servers),
        workloads=_names(args.workloads),
        note=args.note,
    )


def _interrupted(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C or SIGTERM: unwind (every ``finally`` stops what it started); further signals
    are ignored so that a second Ctrl-C cannot cut the clean-up short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    args = parser().parse_args()
    if args.command == "points":
        bench_points.run(args)
        return
    if args.command == "tasks":
        bench_tasks.run(args)
        return
    if args.command == "customers_import":
        bench_customers_import.run(args)
        return
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        result = run(options(args))
    except KeyboardInterrupt:
        print(
            "\ninterrupted: servers stopped, PostgreSQL's affinity restored, "
            "a throwaway database dropped",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    print(f"wrote {report.write(result)}")


if __name__ == "__main__":
    main()
