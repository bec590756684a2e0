"""Observability on the shared test server: one JSON log line per request with its facts and
no personal data, Prometheus metrics at /metrics (requests and latency by operation, errors by
code, database connections in use, open WebSockets and subscriptions), and bounded labels."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.log_format import JsonFormatter
from api.metrics import OperationLabels
from migrations import DatabaseNotMigrated
from tests.api.conftest import eventually, signed_in
from tests.conftest import Server, staff_token
from tests.support import ALICE, World

FIND_BY_PHONE = """
query FindByPhone($phone: String!) { customerByPhone(phone: $phone, reason: INBOUND_CALL) { id name } }
"""
PROBE = "query ObservabilityProbe { tiers { name } }"
ANONYMOUS = "{ tiers { name } }"
ASSIGNED_TO_ME = "subscription { assignedToMe { id } }"
METRIC_NAMES = {
    "cardcrm_http_requests",
    "cardcrm_http_request_duration_seconds",
    "cardcrm_errors",
    "cardcrm_rate_limited",
    "cardcrm_db_connections_in_use",
    "cardcrm_websocket_connections_open",
    "cardcrm_subscriptions_open",
}


def _request_lines(caplog: pytest.LogCaptureFixture, request_id: str) -> list[dict[str, Any]]:
    """The request lines written for ``request_id``, as the JSON formatter prints them."""
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == "cardcrm.request"
        and getattr(record, "fields", {}).get("request_id") == request_id
    ]


async def _samples(server: Server) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await server.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


# --- the log line --------------------------------------------------------------------------


async def test_a_graphql_request_writes_one_json_line_with_its_facts_and_no_personal_data(
    server: Server, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # given: a supervisor looking a customer up by phone number
    caplog.set_level(logging.INFO, logger="cardcrm.request")
    token = staff_token(server, world, "demo-supervisor")
    request_id = f"obs-{uuid.uuid4().hex[:12]}"
    before = server.state.database.statements_executed

    # when
    response = await server.post(
        FIND_BY_PHONE,
        {"phone": ALICE.phone},
        token=token,
        headers={"X-Request-ID": request_id},
    )

    # then: one line, with the facts
    statements = server.state.database.statements_executed - before
    assert response.status_code == 200
    assert response.headers["x-request-id"] == request_id
    (line,) = _request_lines(caplog, request_id)
    assert line["message"] == "request"
    assert line["request_id"] == request_id
    assert line["method"] == "POST"
    assert line["path"] == "/graphql"
    assert line["operation"] == "FindByPhone"
    assert line["principal"] == str(world.staff["demo-supervisor"].id)
    assert line["status"] == 200
    assert line["duration_ms"] > 0
    assert line["sql_statements"] == statements > 0
    # ...and nothing a person could be recognised by, nor the token
    printed = json.dumps(line, ensure_ascii=False)
    for secret in (ALICE.phone, ALICE.name, ALICE.id_number, "demo-supervisor", token):
        assert secret not in printed


async def test_a_request_refused_before_graphql_logs_its_status_and_no_principal(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cardcrm.request")
    request_id = f"obs-{uuid.uuid4().hex[:12]}"

    response = await server.post(PROBE, headers={"X-Request-ID": request_id})

    (line,) = _request_lines(caplog, request_id)
    assert response.status_code == 401
    assert (line["status"], line["principal"], line["operation"]) == (401, None, None)
    assert line["sql_statements"] == 0


async def test_an_operation_without_a_name_is_logged_as_anonymous(
    server: Server, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cardcrm.request")
    request_id = f"obs-{uuid.uuid4().hex[:12]}"
    token = staff_token(server, world, "demo-agent")

    await server.graphql(ANONYMOUS, token=token, headers={"X-Request-ID": request_id})

    (line,) = _request_lines(caplog, request_id)
    assert line["operation"] == "anonymous"


def test_a_logged_exception_is_named_never_traced_and_only_our_own_messages_are_kept() -> None:
    formatter = JsonFormatter()

    def logged(error: BaseException) -> dict[str, Any]:
        try:
            raise error
        except BaseException:
            record = logging.LogRecord(
                "cardcrm.test", logging.ERROR, __file__, 1, "it failed", None, sys.exc_info()
            )
        line: dict[str, Any] = json.loads(formatter.format(record))
        return line

    library = logged(ValueError("SELECT * FROM customer WHERE phone = '13812345678'"))
    own = logged(DatabaseNotMigrated("database is at revision 0002; run `cardcrm db upgrade`"))

    assert library == {**library, "message": "it failed", "error": "ValueError"}
    assert "13812345678" not in json.dumps(library)
    assert "Traceback" not in json.dumps(library)
    assert own["error_message"] == "database is at revision 0002; run `cardcrm db upgrade`"


def test_a_traceback_logged_as_a_message_keeps_only_its_last_line() -> None:
    formatter = JsonFormatter()

    def printed(message: str) -> str:
        record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, message, None, None)
        text: str = json.loads(formatter.format(record))["message"]
        return text

    def trace(last_line: str) -> str:
        return (
            "Traceback (most recent call last):\n"
            '  File "/x/api/state.py", line 64, in build_state\n'
            "    ring = await load_key_ring(session, master_key)\n" + last_line + "\n"
        )

    library = printed(trace("sqlalchemy.exc.OperationalError: SELECT phone FROM customer"))
    own = printed(trace("migrations.DatabaseNotMigrated: run `cardcrm db upgrade`"))

    assert library == "sqlalchemy.exc.OperationalError"
    assert own == "migrations.DatabaseNotMigrated: run `cardcrm db upgrade`"
    assert printed("plain") == "plain"


# --- the metrics ---------------------------------------------------------------------------


async def test_metrics_name_every_measure_and_count_a_request_by_its_operation(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    before = await _samples(server)

    await server.graphql(PROBE, token=token)
    await server.post(PROBE)  # no token: UNAUTHENTICATED
    after = await _samples(server)

    exposed = (await server.client.get("/metrics")).text
    assert {family.name for family in text_string_to_metric_families(exposed)} >= METRIC_NAMES
    requests = "cardcrm_http_requests_total"
    probe = {"path": "/graphql", "operation": "ObservabilityProbe", "status": "200"}
    assert _value(after, requests, **probe) - _value(before, requests, **probe) == 1
    latency = "cardcrm_http_request_duration_seconds_count"
    by_operation = {"path": "/graphql", "operation": "ObservabilityProbe"}
    assert _value(after, latency, **by_operation) - _value(before, latency, **by_operation) == 1
    errors = "cardcrm_errors_total"
    unauthenticated = {"code": "UNAUTHENTICATED"}
    assert _value(after, errors, **unauthenticated) - _value(before, errors, **unauthenticated) >= 1


async def test_metrics_show_a_database_connection_while_it_is_checked_out(
    server: Server,
) -> None:
    in_use = "cardcrm_db_connections_in_use"
    before = _value(await _samples(server), in_use)

    async with server.state.database.engine.connect():
        during = _value(await _samples(server), in_use)
    after = _value(await _samples(server), in_use)

    assert during - before == 1
    assert after == before


async def test_metrics_count_open_websockets_and_subscriptions(
    server: Server, world: World
) -> None:
    sockets, subscriptions = "cardcrm_websocket_connections_open", "cardcrm_subscriptions_open"
    before = await _samples(server)
    token = staff_token(server, world, "demo-agent")

    async def grown(name: str) -> float:
        return _value(await _samples(server), name) - _value(before, name)

    async with signed_in(server.base_url, token) as socket:
        await socket.subscribe("mine", ASSIGNED_TO_ME)
        await eventually(lambda: grown(subscriptions), lambda n: n == 1)
        open_sockets = await grown(sockets)

    await eventually(lambda: grown(subscriptions), lambda n: n == 0)
    await eventually(lambda: grown(sockets), lambda n: n == 0)
    assert open_sockets == 1


def test_operation_labels_are_bounded_and_never_free_text() -> None:
    labels = OperationLabels(max_names=2)

    assert [labels.label(name) for name in ("First", "Second", "Third", "First")] == [
        "First",
        "Second",
        "other",
        "First",
    ]
    assert labels.label(None) == "anonymous"
    assert OperationLabels(10).label("drop table; 13812345678") == "other"
