"""A server under test: what it is (``ServerSpec``), and running one as its own process group.

A spec is declarative: a name, a command (``{port}`` is filled in), extra environment, the
health path polled until it answers, the core it is pinned to (None: not pinned), and per
workload the path, JSON body and credentials to send. Adding a server to the benchmark is
adding one spec (see ``bench.lineup``).

``running`` starts the spec in a new session (so Ctrl-C in the terminal does not reach it
half-way and one ``killpg`` stops it with all its workers), sends its stdout/stderr to a log
file (cardcrm's JSON request lines, read by ``bench.server_log``), waits for health, and
always stops the whole group on the way out: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.pinning import pinned_command

STARTUP_SECONDS = 120.0  # N workers re-import cardcrm each; slow on a busy machine
STOP_SECONDS = 30.0


@dataclass(frozen=True)
class Bearer:
    """A ready-made access token."""

    token: str


@dataclass(frozen=True)
class ClientCredentials:
    """An OAuth client whose token is fetched from the started server's /oauth/token."""

    client_id: str
    client_secret: str


Auth = Bearer | ClientCredentials | None


@dataclass(frozen=True)
class Endpoint:
    """What a server is sent for one workload. ``one_time_codes``: the body holds
    ``bench.load.CODE_PLACEHOLDER``, replaced by a fresh code on every request (W3)."""

    path: str
    body: dict[str, Any]
    auth: Auth = None
    one_time_codes: bool = False


@dataclass(frozen=True)
class ServerSpec:
    name: str
    command: list[str]  # "{port}" in an argument is replaced by the port
    health_path: str
    workloads: dict[str, Endpoint]
    env: Mapping[str, str] = field(default_factory=dict)
    core: int | None = 0  # None: not pinned (e.g. N workers spread over all cores)
    workers: int = 1
    logs_sql_statements: bool = False  # writes cardcrm's JSON request lines
    # Run once just before the server starts, untimed: install a peer, add what it serves.
    prepare: Callable[[], None] | None = None


@dataclass
class RunningServer:
    spec: ServerSpec
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    pinned: bool

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


def authorization_header(auth: Auth, base_url: str) -> str | None:
    """The Authorization header for ``auth``; client credentials are exchanged for a token
    at ``base_url``'s /oauth/token, as a merchant's till would."""
    if isinstance(auth, Bearer):
        return f"Bearer {auth.token}"
    if isinstance(auth, ClientCredentials):
        response = httpx.post(
            f"{base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(auth.client_id, auth.client_secret),
            timeout=30,
        )
        response.raise_for_status()
        return f"Bearer {response.json()['access_token']}"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(spec: ServerSpec, port: int) -> list[str]:
    return [part.replace("{port}", str(port)) for part in spec.command]


def _wait_healthy(server: RunningServer) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.spec.name} exited with {server.process.returncode} before answering; "
                f"see {server.log_path}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url(server.spec.health_path), timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{server.spec.name} did not answer within {STARTUP_SECONDS:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole process group (uvicorn stops gracefully), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def running(spec: ServerSpec, env: Mapping[str, str], log_dir: Path) -> Iterator[RunningServer]:
    """The server prepared, started (pinned to ``spec.core`` when it can be) and healthy;
    stopped after."""
    if spec.prepare is not None:
        spec.prepare()
    port = free_port()
    prefix = pinned_command(spec.core) if spec.core is not None else []
    log_path = log_dir / f"{spec.name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*prefix, *_command(spec, port)],
            env={**env, **spec.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = RunningServer(spec, process, f"http://127.0.0.1:{port}", log_path, bool(prefix))
    try:
        _wait_healthy(server)
        yield server
    finally:
        stop(process)


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn's supervisor and its workers)."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                pending.extend(int(child) for child in (task / "children").read_text().split())
    return tree


def _status_kb(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` size (VmHWM, VmRSS) in kB; 0 for a process gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


def peak_memory_mb(pid: int) -> tuple[float, int]:
    """The sum of each process's peak resident set (VmHWM) over the tree, and the number of
    processes: an upper bound of the tree's peak, which is what a worker count costs."""
    tree = process_tree(pid)
    return round(sum(_status_kb(each, "VmHWM") for each in tree) / 1024, 1), len(tree)


def resident_memory_mb(pid: int) -> float:
    """The sum of each process's resident set now (VmRSS) over the tree: what the server
    keeps once a run is over, beside the peak it reached during it."""
    return round(sum(_status_kb(each, "VmRSS") for each in process_tree(pid)) / 1024, 1)
