"""SQL statements per request, measured live: read from the log cardcrm wrote while it was
under load.

cardcrm writes one JSON line per request (``api.observability``) with its path, status and
``sql_statements``. The runner notes the log's size before a workload and reads what was
appended after it; the median over those requests is the workload's figure (the warm-up
and all three runs, so the first request's one-off statements do not move it). Lines that
are not JSON (uvicorn's start-up banner on stdout) and other paths are skipped.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from pathlib import Path

GRAPHQL_PATH = "/graphql"


def statement_counts(lines: Iterable[str], path: str = GRAPHQL_PATH) -> list[int]:
    """The ``sql_statements`` of every successful request line for ``path``."""
    counts = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(record, dict)
            and record.get("path") == path
            and record.get("status") == 200
            and isinstance(record.get("sql_statements"), int)
        ):
            counts.append(record["sql_statements"])
    return counts


def median_statements(lines: Iterable[str], path: str = GRAPHQL_PATH) -> float | None:
    """The median statement count per request, None when no request was logged."""
    counts = statement_counts(lines, path)
    return statistics.median(counts) if counts else None


def log_size(log: Path) -> int:
    return log.stat().st_size if log.exists() else 0


def lines_since(log: Path, offset: int) -> list[str]:
    """The lines appended to ``log`` after byte ``offset``."""
    with log.open("rb") as file:
        file.seek(offset)
        return file.read().decode("utf-8", errors="replace").splitlines()
