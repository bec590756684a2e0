"""The request log says which executor answered: W1, the page the benchmark measures, is
answered by its SQL plan for every caller that may list customers, and for those who may
not (their refusal is planned too)."""

from __future__ import annotations

import logging
import uuid

import pytest

from bench.workloads import document, w1_variables
from tests.api.compiled.test_both_executors import ROLES
from tests.api.test_observability import _request_lines
from tests.conftest import Server


@pytest.mark.parametrize("role", ROLES)
async def test_w1_is_logged_as_answered_by_its_sql_plan_for_every_role(
    server: Server, tokens: dict[str, str], role: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cardcrm.request")
    request_id = f"planned-{uuid.uuid4().hex[:12]}"

    response = await server.post(
        document("W1"), w1_variables(), token=tokens[role], headers={"X-Request-ID": request_id}
    )

    assert response.status_code == 200
    (line,) = _request_lines(caplog, request_id)
    assert line["executor"] == "planned"
    body = response.json()
    listed = role not in ("marketer", "merchant", "service")
    assert bool(body["data"]["customers"]) == listed, body
    assert line["sql_statements"] <= 2
