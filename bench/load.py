"""Load from ``wrk`` (Debian's package), pinned to the load core: a warm-up, then three timed
runs of which the median (by requests per second) is kept.

Every run is bounded in time (``-d``) and goes through ``bench/wrk.lua``, which counts a
response as failed when it is not 2xx or carries GraphQL ``errors`` (and, for W3, when its
``userErrors`` is not empty), and prints one ``RESULT key=value ...`` line that
``parse_wrk_output`` reads. For one-time codes (W3) ``CodeFeed`` tells each run where the
previous runs stopped in the codes file, so no code is ever sent twice.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.pinning import LOAD_CORE, pinned_command

SCRIPT = Path(__file__).with_name("wrk.lua")
CODE_PLACEHOLDER = "@@CODE@@"
REQUEST_TIMEOUT = "30s"  # W4 on the full dataset may take seconds; wrk's default is 2 s
RUNS = 3


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: completed requests and their latency, and what went wrong."""

    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    socket_errors: int  # connect, read, write, timeout
    failed: int  # non-2xx, GraphQL errors, userErrors (W3)
    codes_taken: int  # W3: codes used up (sent, cut off at the end, or taken by wrk's check)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.failed


def parse_wrk_output(output: str) -> WrkResult:
    """The ``RESULT`` line ``bench/wrk.lua`` prints, as a ``WrkResult``."""
    line = next((x for x in output.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise ValueError(f"wrk printed no RESULT line:\n{output}")
    values = {key: int(float(value)) for key, value in (p.split("=") for p in line.split()[1:])}
    return WrkResult(
        requests=values["requests"],
        seconds=values["duration_us"] / 1e6,
        p50_ms=values["p50_us"] / 1e3,
        p95_ms=values["p95_us"] / 1e3,
        p99_ms=values["p99_us"] / 1e3,
        socket_errors=values["socket_errors"],
        failed=values["failed"],
        codes_taken=values["taken"],
    )


def median_run(runs: Sequence[WrkResult]) -> WrkResult:
    """The run with the median requests per second (the middle one of an odd count)."""
    if not runs:
        raise ValueError("no runs")
    return sorted(runs, key=lambda run: run.rps)[(len(runs) - 1) // 2]


@dataclass
class CodeFeed:
    """A file of one-time codes shared by successive runs; ``used`` moves past every code
    a run took, answered or not."""

    path: Path
    size: int
    used: int = 0

    def advance(self, result: WrkResult) -> None:
        self.used += result.codes_taken

    @property
    def exhausted(self) -> bool:
        return self.used > self.size


@dataclass(frozen=True)
class Load:
    """How hard and how long to drive one workload."""

    connections: int
    seconds: int


def run_wrk(
    url: str,
    body: dict[str, Any],
    *,
    authorization: str | None,
    load: Load,
    codes: CodeFeed | None = None,
) -> WrkResult:
    """One bounded wrk run (one thread) against ``url``."""
    env = {
        **os.environ,
        "BENCH_BODY": json.dumps(body, ensure_ascii=False),
        "BENCH_AUTH": authorization or "",
        "BENCH_CODES": str(codes.path) if codes else "",
        "BENCH_SKIP": str(codes.used) if codes else "0",
        "BENCH_CLEAN": "1" if codes else "0",
    }
    command = [
        *pinned_command(LOAD_CORE),
        "wrk",
        "-t1",
        f"-c{load.connections}",
        f"-d{load.seconds}s",
        f"--timeout={REQUEST_TIMEOUT}",
        "-s",
        str(SCRIPT),
        url,
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    result = parse_wrk_output(completed.stdout)
    if codes is not None:
        codes.advance(result)
    return result


@dataclass(frozen=True)
class Measurement:
    """A warm-up and ``RUNS`` timed runs of one workload on one server."""

    median: WrkResult
    runs: list[WrkResult]
    warmup: WrkResult


def measure(run: Callable[[int], WrkResult], *, warmup_seconds: int, seconds: int) -> Measurement:
    """``run(seconds)`` once to warm up, then ``RUNS`` times; keeps the median."""
    warmup = run(warmup_seconds)
    runs = [run(seconds) for _ in range(RUNS)]
    return Measurement(median_run(runs), runs, warmup)
