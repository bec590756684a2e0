"""SQL statements per request read from cardcrm's own request log (bench/server_log.py), on
lines a real request wrote."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from api.log_format import JsonFormatter
from bench.server_log import lines_since, log_size, median_statements, statement_counts
from bench.workloads import document, w1_variables
from tests.bench.test_workloads import W1_STATEMENTS
from tests.conftest import Server, staff_token
from tests.support import World


async def test_the_statement_count_of_a_real_w1_request_is_read_from_its_log_line(
    server: Server, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # given: a fresh tier catalogue (W1_STATEMENTS counts without the tiers' load) and the
    # request log captured as cardcrm writes it (JSON, one line per request)
    token = staff_token(server, world, "demo-agent")
    await server.graphql(document("W1"), w1_variables(1), token=token)
    caplog.set_level(logging.INFO, logger="cardcrm.request")
    # when
    body = await server.graphql(document("W1"), w1_variables(), token=token)
    # then
    assert "errors" not in body
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records if r.name == "cardcrm.request"]
    assert statement_counts(lines) == [W1_STATEMENTS]


def test_only_successful_graphql_request_lines_count() -> None:
    lines = [
        "INFO:     Uvicorn running on http://127.0.0.1:8000",
        json.dumps({"path": "/graphql", "status": 200, "sql_statements": 3}),
        json.dumps({"path": "/graphql", "status": 200, "sql_statements": 5}),
        json.dumps({"path": "/graphql", "status": 200, "sql_statements": 4}),
        json.dumps({"path": "/graphql", "status": 401, "sql_statements": 0}),
        json.dumps({"path": "/healthz", "status": 200, "sql_statements": 0}),
        json.dumps({"message": "started", "logger": "uvicorn.error"}),
    ]
    assert statement_counts(lines) == [3, 5, 4]
    assert median_statements(lines) == 4
    assert median_statements(lines[:1]) is None


def test_lines_since_reads_only_what_was_appended(tmp_path: Path) -> None:
    log = tmp_path / "cardcrm.log"
    assert log_size(log) == 0
    log.write_text("first\n")
    offset = log_size(log)
    with log.open("a") as file:
        file.write("second\nthird\n")
    assert lines_since(log, offset) == ["second", "third"]
