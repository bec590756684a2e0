"""A PostgreSQL server of a test's own, for fault tests that freeze or stop it.

Never the machine's server: it gets its own data directory (a fresh directory under the
system's temporary directory, which the server's user can reach) and a free port, and is
stopped and removed afterwards. PostgreSQL refuses to run as root, so when the tests run as
root it runs as the ``postgres`` user. ``freeze`` stops every process of it with SIGSTOP
(the postmaster first, so it forks no new backend, then its children: each backend has a
process group of its own, so one ``killpg`` would not reach them), which is what a hung
database host looks like to a client: connections open, nothing answers.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BINARY_DIRECTORIES = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"
START_SECONDS = 30.0
STOP_SECONDS = 10.0


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL's binary directory holding initdb and postgres."""
    found = [
        directory
        for directory in Path("/").glob(BINARY_DIRECTORIES.lstrip("/"))
        if (directory / "initdb").exists() and (directory / "postgres").exists()
    ]
    return max(found, key=lambda d: int(d.parent.name), default=None) if found else None


def server_account() -> pwd.struct_passwd | None:
    """Whom the server runs as: the ``postgres`` user when we are root, else ourselves."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        return None


@dataclass
class OwnPostgres:
    binaries: Path
    account: pwd.struct_passwd
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @classmethod
    def create(cls, binaries: Path, account: pwd.struct_passwd, port: int) -> OwnPostgres:
        root = Path(tempfile.mkdtemp(prefix="cardcrm-own-pg-"))
        os.chown(root, account.pw_uid, account.pw_gid)
        return cls(binaries, account, root, port)

    def _run_as_owner(self, *command: str, **options: object) -> subprocess.Popen[bytes]:
        as_owner: dict[str, object] = {}
        if os.geteuid() == 0:
            as_owner = {
                "user": self.account.pw_uid,
                "group": self.account.pw_gid,
                "extra_groups": [],
            }
        return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
            list(command), cwd=self.root, **as_owner, **options
        )

    def start(self) -> None:
        data = self.root / "data"
        initdb = self._run_as_owner(
            str(self.binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        if initdb.wait(timeout=START_SECONDS) != 0:
            raise RuntimeError(f"initdb failed in {data}")
        with self.log.open("wb") as log:
            self.process = self._run_as_owner(
                str(self.binaries / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_it_answers()

    def _wait_until_it_answers(self) -> None:
        import psycopg2

        deadline = time.monotonic() + START_SECONDS
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited:\n{self.log.read_text()}")
            try:
                dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
                psycopg2.connect(dsn, connect_timeout=1).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def processes(self) -> list[int]:
        """The postmaster and its children (backends and auxiliary processes)."""
        assert self.process is not None
        postmaster = self.process.pid
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == postmaster:
                children.append(int(entry.name))
        return [postmaster, *children]

    def freeze(self) -> None:
        """SIGSTOP to every process of the server: it holds its connections, answers nothing."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        for pid in self.processes()[1:]:
            _signal(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is None:
            return
        for pid in reversed(self.processes()):
            _signal(pid, signal.SIGCONT)

    def stop(self) -> None:
        """Thaws, stops (fast shutdown, then kill) and removes the server and its files."""
        try:
            if self.process is not None and self.process.poll() is None:
                self.thaw()
                self.process.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown
                try:
                    self.process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    for pid in self.processes():
                        _signal(pid, signal.SIGKILL)
                    self.process.wait(timeout=STOP_SECONDS)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.kill(pid, signum)
