"""Which core runs what: the server under test on core 0, the load generator and PostgreSQL
on core 1, so the server's figures are not its share of a core it fights wrk for.

Commands are pinned by starting them under ``taskset -c CORE``. PostgreSQL is already
running: ``pinned_postgres`` sets the affinity of the postmaster and of every process it
has forked (all threads, like ``taskset -a -p``; backends forked later inherit it), and
always puts the previous affinity back, on error and Ctrl-C too. Nothing here is fatal:
where pinning cannot be applied (one core, no taskset, PostgreSQL on another host, no
permission) it warns, carries on, and says so in the report.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SERVER_CORE = 0
LOAD_CORE = 1


_warned: set[str] = set()


def warn(message: str) -> None:
    """Prints ``message`` on stderr, once per run."""
    if message not in _warned:
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr, flush=True)


def can_pin(core: int) -> bool:
    cores = os.cpu_count() or 1
    return cores > LOAD_CORE and core < cores and shutil.which("taskset") is not None


def pinned_command(core: int) -> list[str]:
    """The prefix that runs a command on ``core`` only; empty (and a warning) if it cannot."""
    if can_pin(core):
        return ["taskset", "-c", str(core)]
    warn(f"cannot pin to core {core} (needs 2 cores and taskset); running unpinned")
    return []


def _threads(pid: int) -> list[int]:
    return [int(task.name) for task in Path(f"/proc/{pid}/task").glob("*")] or [pid]


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children.extend(int(child) for child in (task / "children").read_text().split())
    return children


def parent_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise LookupError(f"no parent in /proc/{pid}/status")


@dataclass
class Pinned:
    """What ``pin_tree`` changed, to put back: each thread's previous affinity."""

    root: int
    default: set[int]  # the root's previous affinity, for processes forked since
    previous: dict[int, set[int]] = field(default_factory=dict)


def pin_tree(pinned: Pinned, cores: set[int]) -> None:
    """Pins the root, its children and all their threads to ``cores``, noting in ``pinned``
    each change as it is made (so a failure half-way can be undone)."""
    for pid in [pinned.root, *_children(pinned.root)]:
        for thread in _threads(pid):
            with contextlib.suppress(ProcessLookupError):  # a backend that just ended
                previous = set(os.sched_getaffinity(thread))
                os.sched_setaffinity(thread, cores)
                pinned.previous[thread] = previous


def restore_tree(pinned: Pinned) -> None:
    """Puts every thread of the tree back: its own previous affinity, or the root's for
    processes forked while it was pinned."""
    for pid in [pinned.root, *_children(pinned.root)]:
        for thread in _threads(pid):
            with contextlib.suppress(OSError):  # ProcessLookupError included
                os.sched_setaffinity(thread, pinned.previous.get(thread, pinned.default))


@dataclass
class PinningReport:
    applied: bool
    detail: str


def postmaster_of(backend_pid: int) -> int:
    """The postmaster that forked ``backend_pid`` (call while that backend is connected)."""
    postmaster = parent_of(backend_pid)
    if b"postgres" not in Path(f"/proc/{postmaster}/cmdline").read_bytes():
        raise LookupError(f"process {postmaster} is not PostgreSQL's postmaster")
    return postmaster


def _not_pinned(reason: str) -> PinningReport:
    warn(f"PostgreSQL not pinned: {reason}")
    return PinningReport(False, reason)


@contextlib.contextmanager
def pinned_postgres(postmaster: int | None, core: int = LOAD_CORE) -> Iterator[PinningReport]:
    """PostgreSQL's postmaster and all its processes on ``core`` for the block; ``postmaster``
    None when PostgreSQL is not on this machine."""
    if postmaster is None or not can_pin(core):
        why = "not on this machine" if postmaster is None else "fewer than 2 cores or no taskset"
        yield _not_pinned(why)
        return
    try:
        pinned = Pinned(postmaster, default=set(os.sched_getaffinity(postmaster)))
    except OSError as error:
        yield _not_pinned(str(error))
        return
    try:
        try:
            pin_tree(pinned, {core})
            report = PinningReport(
                True,
                f"postmaster {postmaster} and its {len(pinned.previous) - 1} processes on core "
                f"{core} (restored after the run)",
            )
        except OSError as error:
            restore_tree(pinned)
            report = _not_pinned(str(error))
        yield report
    finally:
        restore_tree(pinned)
