"""Prometheus metrics, served at ``GET /metrics``.

What is measured: HTTP requests and their latency by path and GraphQL operation name, errors
by ``extensions.code``, rate-limit refusals by limit, database connections checked out of the
pool, and open WebSocket connections and subscriptions.

Labels never carry a value a caller chose freely: paths come from the app's own routes,
operation names are valid GraphQL names capped at ``metrics_max_operation_names`` distinct
ones per process (later ones count as "other"), codes come from ``ErrorCode``. No variable,
token or personal datum is ever a label.

Several worker processes (``cardcrm serve --workers N``) share one port, so a scrape reaches
one worker at random; ``cardcrm serve`` therefore gives them a ``PROMETHEUS_MULTIPROC_DIR``,
prometheus_client's multiprocess mode, and ``/metrics`` then reports the sum over all workers.
"""

from __future__ import annotations

import os
import re
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.http.typevars import Context, RootValue
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
OTHER = "other"
ANONYMOUS = "anonymous"
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")  # fullmatch: "$" would let "\n" in

REQUESTS = Counter(
    "cardcrm_http_requests",
    "HTTP requests answered, by path, GraphQL operation name and status.",
    ["path", "operation", "status"],
)
LATENCY = Histogram(
    "cardcrm_http_request_duration_seconds",
    "Time to answer an HTTP request, by path and GraphQL operation name.",
    ["path", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ERRORS = Counter("cardcrm_errors", "Errors answered, by extensions.code.", ["code"])
COMPILED = Counter(
    "cardcrm_compiled_operations",
    "GraphQL operations by executor: planned (answered by its SQL plan), compiled (by its "
    "resolver plan), fallback (a plan's run met an error; the standard executor answered) or "
    "standard (no plan).",
    ["executor"],
)
SQL_PLANS = Counter(
    "cardcrm_sql_plans",
    "SQL plans made for an operation and a caller's shape (api.compiled.sql), by when: ahead "
    "(persisted operations at start-up) or on first use.",
    ["when"],
)
RATE_LIMITED = Counter(
    "cardcrm_rate_limited", "Requests refused with 429 RATE_LIMITED, by limit.", ["limit"]
)
DB_CONNECTIONS_IN_USE = Gauge(
    "cardcrm_db_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
WEBSOCKETS_OPEN = Gauge(
    "cardcrm_websocket_connections_open",
    "Open GraphQL WebSocket connections.",
    multiprocess_mode="livesum",
)
SUBSCRIPTIONS_OPEN = Gauge(
    "cardcrm_subscriptions_open",
    "Subscription operations running on open WebSocket connections.",
    multiprocess_mode="livesum",
)


def safe_operation_name(name: object) -> str | None:
    """The name if it is a GraphQL name (what a client sends could be anything else)."""
    return name if isinstance(name, str) and _GRAPHQL_NAME.fullmatch(name) else None


class OperationLabels:
    """Bounded label values for operation names: the first ``max_names`` distinct names this
    process sees keep their name, any later one is "other"; no name at all is "anonymous"."""

    def __init__(self, max_names: int) -> None:
        self.max_names = max_names
        self._names: set[str] = set()

    def label(self, name: str | None) -> str:
        if name is None:
            return ANONYMOUS
        if name in self._names:
            return name
        if safe_operation_name(name) is None or len(self._names) >= self.max_names:
            return OTHER
        self._names.add(name)
        return name


def watch_pool(engine: AsyncEngine) -> None:
    """Keeps ``cardcrm_db_connections_in_use`` in step with the engine's pool."""
    pool_events = engine.sync_engine.pool

    def checked_out(*_: Any) -> None:
        DB_CONNECTIONS_IN_USE.inc()

    def returned(*_: Any) -> None:
        DB_CONNECTIONS_IN_USE.dec()

    event.listen(pool_events, "checkout", checked_out)
    event.listen(pool_events, "checkin", returned)
    event.listen(pool_events, "detach", returned)  # a detached connection is no longer lent


class MeteredSubscriptions(BaseGraphQLTransportWSHandler[Context, RootValue]):
    """strawberry's ``graphql-transport-ws`` handler, counted: the connection while it is
    handled, each operation while its task runs (however it ends)."""

    async def handle(self) -> None:
        WEBSOCKETS_OPEN.inc()
        try:
            await super().handle()
        finally:
            WEBSOCKETS_OPEN.dec()

    async def run_operation(self, operation: Operation[Context, RootValue]) -> None:
        SUBSCRIPTIONS_OPEN.inc()
        try:
            await super().run_operation(operation)
        finally:
            SUBSCRIPTIONS_OPEN.dec()


def is_multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR_VARIABLE))


def exposition() -> bytes:
    """The Prometheus text format of every metric (of all workers in multiprocess mode)."""
    if not is_multiprocess():
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def process_exiting() -> None:
    """A worker that stops takes its live gauges with it (multiprocess mode)."""
    if is_multiprocess():
        prometheus_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
