"""What each request leaves behind: one JSON log line and its Prometheus metrics.

``RequestLogMiddleware`` (pure ASGI, inside ``RequestIdMiddleware``) times every request and
counts its SQL statements (``core.database.counting_statements``). What only the GraphQL layer
knows, it learns through ``RequestFacts``, a per-request object in a context variable: the
view notes the authenticated principal (``note_principal``), and the ``OperationObserver``
schema extension notes the operation name. The log line then carries the request id, method,
path (never the query string: a GET can carry variables), operation name, principal id (the
token subject, an opaque id, never a name or a number of the customer), status, duration and
statement count. Variables, documents and tokens are never logged or labelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from api import metrics
from api.log_format import FIELDS
from api.middleware import current_request_id
from api.responses import error_response
from core.database import counting_statements
from core.errors import ErrorCode, Unauthenticated
from core.identity import Principal

logger = logging.getLogger("cardcrm.request")


@dataclass
class RequestFacts:
    operation: str | None = None  # a valid GraphQL name, or None
    graphql: bool = False  # an operation was executed (operation None = anonymous)
    principal: str | None = None
    executor: str | None = None  # "compiled", "fallback" or "standard" (api.compiled)


_facts: ContextVar[RequestFacts | None] = ContextVar("request_facts", default=None)


def note_operation(operation: str | None) -> None:
    """That the request ran a GraphQL operation, and its name: told by ``OperationObserver``
    for strawberry's executor and by ``api.compiled`` for its own."""
    facts = _facts.get()
    if facts is not None:
        facts.graphql = True
        facts.operation = metrics.safe_operation_name(operation)


def note_executor(executor: str) -> None:
    metrics.COMPILED.labels(executor=executor).inc()
    facts = _facts.get()
    if facts is not None:
        facts.executor = executor


def note_principal(principal: Principal) -> None:
    facts = _facts.get()
    if facts is not None:
        facts.principal = principal.subject


class OperationObserver(SchemaExtension):
    """Tells the request's log line and metrics which operation it ran, and for whom."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            execution = self.execution_context
            note_operation(execution.operation_name)
            # A WebSocket operation before `connection_init` has nobody yet.
            with contextlib.suppress(AttributeError, Unauthenticated):
                note_principal(execution.context.principal)


class RequestLogMiddleware:
    """One log line and the request metrics per HTTP request or WebSocket connection."""

    def __init__(self, app: ASGIApp, *, paths: frozenset[str], max_operation_names: int) -> None:
        self.app = app
        self.paths = paths
        self.operations = metrics.OperationLabels(max_operation_names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        facts = RequestFacts()
        token = _facts.set(facts)
        status = 500  # what the server answers if the app fails before it starts a response
        started = time.perf_counter()

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                status = message["status"]
            elif message["type"] == "websocket.accept":
                status = 101
            elif message["type"] == "websocket.close" and status == 500:
                status = 403  # closed before the handshake completed
            await send(message)

        try:
            async with counting_statements() as statements:
                await self.app(scope, receive, observed_send)
        finally:
            _facts.reset(token)
            self._record(scope, facts, status, time.perf_counter() - started, statements.value)

    def _record(
        self, scope: Scope, facts: RequestFacts, status: int, seconds: float, statements: int
    ) -> None:
        path = scope["path"] if scope["path"] in self.paths else metrics.OTHER
        fields: dict[str, Any] = {
            "request_id": current_request_id(),
            "method": scope.get("method", "WEBSOCKET"),
            "path": path,
            "operation": facts.operation or (metrics.ANONYMOUS if facts.graphql else None),
            "principal": facts.principal,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "sql_statements": statements,
            "executor": facts.executor,
        }
        logger.info("request", extra={FIELDS: fields})
        if scope["type"] != "http":
            return  # a connection's lifetime is no latency; the gauges count connections
        operation = self.operations.label(facts.operation) if facts.graphql else ""
        metrics.REQUESTS.labels(path=path, operation=operation, status=str(status)).inc()
        metrics.LATENCY.labels(path=path, operation=operation).observe(seconds)


async def metrics_endpoint(request: Request) -> Response:
    """The Prometheus text exposition; behind ``metrics_token`` when one is set."""
    token = request.app.state.cardcrm.settings.metrics_token
    if token and not hmac.compare_digest(
        request.headers.get("authorization", "").encode(), f"Bearer {token}".encode()
    ):
        return error_response(401, ErrorCode.UNAUTHENTICATED, "send the metrics bearer token")
    body = await asyncio.to_thread(metrics.exposition)  # multiprocess mode reads files
    return Response(
        body,
        media_type=CONTENT_TYPE_LATEST,
        headers={"Cache-Control": "no-store"},
    )
