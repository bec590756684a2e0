"""Pinning (bench/pinning.py) and a server's process tree (bench/servers.py) on real
processes: a parent with a child, as uvicorn's supervisor and worker, or the postmaster and
its backends."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.pinning import Pinned, pin_tree, pinned_postgres, restore_tree
from bench.servers import peak_memory_mb, process_tree, resident_memory_mb, stop

PARENT_WITH_CHILD = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
)


@pytest.fixture
def family() -> Iterator[subprocess.Popen[bytes]]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT_WITH_CHILD], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(process_tree(parent.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    yield parent
    stop(parent)


def test_a_tree_is_pinned_whole_and_put_back_as_it_was(family: subprocess.Popen[bytes]) -> None:
    tree = process_tree(family.pid)
    assert len(tree) == 2
    before = {pid: os.sched_getaffinity(pid) for pid in tree}
    pinned = Pinned(family.pid, default=set(os.sched_getaffinity(family.pid)))

    pin_tree(pinned, {0})
    assert all(os.sched_getaffinity(pid) == {0} for pid in tree)

    restore_tree(pinned)
    assert {pid: os.sched_getaffinity(pid) for pid in tree} == before


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan waits for whoever reaps it, maybe forever)."""
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_stopping_a_server_ends_its_whole_process_group(family: subprocess.Popen[bytes]) -> None:
    child = process_tree(family.pid)[1]
    assert _running(child)
    stop(family)
    deadline = time.monotonic() + 10
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def test_peak_memory_adds_up_every_process_of_the_tree(family: subprocess.Popen[bytes]) -> None:
    resident = resident_memory_mb(family.pid)  # read first: the peak after it is at least it
    megabytes, processes = peak_memory_mb(family.pid)
    assert processes == 2
    assert 5 < megabytes < 1_000
    assert 5 < resident <= megabytes


def test_without_a_local_postgresql_nothing_is_pinned_and_the_report_says_so() -> None:
    with pinned_postgres(None) as report:
        assert report.applied is False
        assert report.detail == "not on this machine"
