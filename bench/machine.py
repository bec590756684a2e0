"""The facts of the machine a run is measured on, printed at the top of the report: cores
and CPU, Python, PostgreSQL and wrk versions, the load average when the run started (on a
shared machine, the figures' noise). ``postgres_facts`` also finds PostgreSQL's postmaster
when it runs on this machine, for ``bench.pinning``."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench.pinning import postmaster_of


async def postgres_facts(url: str) -> tuple[str, int | None]:
    """The server version, and the postmaster's pid when PostgreSQL runs on this machine."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        version = str(await connection.fetchval("SHOW server_version"))
        try:
            postmaster: int | None = postmaster_of(
                await connection.fetchval("SELECT pg_backend_pid()")
            )
        except (OSError, LookupError):
            postmaster = None
    finally:
        await connection.close()
    return version, postmaster


def _wrk_version() -> str:
    completed = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    first_line = (completed.stdout or completed.stderr).splitlines()[0]
    return first_line.split(" [")[0].strip()  # "wrk debian/4.1.0-3+b2 [epoll] Copyright ..."


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_facts(postgres_version: str, load_average: tuple[float, ...]) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "postgresql": postgres_version,
        "wrk": _wrk_version(),
        "load_average_at_start": [round(x, 2) for x in load_average],
    }
