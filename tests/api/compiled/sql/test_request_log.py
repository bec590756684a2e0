"""The request log says which executor answered: W1 (a page of customers) and W2 (a
customer 360 beside the open complaints) are answered by their SQL plans for every caller,
whether they may read what the workload asks or are refused some or all of it (refusals are
planned too); W4 (analytics) by its compiled plan, or by its refusals' SQL plan for a caller
refused the analytics; W3 (a redemption) by its compiled plan: never by the standard
executor."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from bench.workloads import document, w1_variables, w2_variables, w3_variables, w4_variables
from schema.relay import to_global_id
from tests.api.compiled.test_both_executors import ROLES
from tests.api.test_observability import _request_lines
from tests.conftest import Server
from tests.support import World

# the most statements each plan runs: W1 the page and cards; W2 the customer, cards,
# interactions, three for recommendations, the complaints and their timeline
MOST_STATEMENTS = {"W1": 2, "W2": 8}


async def _logged(
    server: Server,
    workload: str,
    variables: dict[str, Any],
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> tuple[Any, dict[str, Any]]:
    """The workload's answer and its request log line."""
    caplog.set_level(logging.INFO, logger="cardcrm.request")
    request_id = f"{workload}-{uuid.uuid4().hex[:12]}"
    response = await server.post(
        document(workload), variables, token=token, headers={"X-Request-ID": request_id}
    )
    (line,) = _request_lines(caplog, request_id)
    return response, line


def _variables(workload: str, world: World) -> dict[str, Any]:
    if workload == "W1":
        return w1_variables()
    return w2_variables(to_global_id("Customer", world.alice.id))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("workload", sorted(MOST_STATEMENTS))
async def test_w1_and_w2_are_logged_as_answered_by_their_sql_plans_for_every_role(
    server: Server,
    world: World,
    tokens: dict[str, str],
    w2_data: None,
    workload: str,
    role: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    response, line = await _logged(
        server, workload, _variables(workload, world), tokens[role], caplog
    )

    assert response.status_code == 200
    assert line["executor"] == "planned"
    assert line["sql_statements"] <= MOST_STATEMENTS[workload]
    body = response.json()
    if workload == "W1":
        listed = role not in ("marketer", "merchant", "service")
        assert bool(body["data"]["customers"]) == listed, body
    else:
        reads_alice = role not in ("merchant", "service")
        assert bool(body["data"]["customer"]) == reads_alice, body


@pytest.mark.parametrize("role", ROLES)
async def test_w4_is_logged_as_answered_by_a_fast_path_for_every_role(
    server: Server, tokens: dict[str, str], role: str, caplog: pytest.LogCaptureFixture
) -> None:
    response, line = await _logged(server, "W4", w4_variables(), tokens[role], caplog)

    refused = "errors" in response.json()
    assert line["executor"] == ("planned" if refused else "compiled")
    assert refused == (role in ("agent", "customer", "merchant", "service"))
    if refused:  # a refusal reads nothing; an OAuth client's token is checked (one read)
        assert line["sql_statements"] == (1 if role in ("merchant", "service") else 0)


@pytest.mark.parametrize("role", ROLES)
async def test_w3_is_logged_as_answered_by_its_compiled_plan_for_every_role(
    server: Server, tokens: dict[str, str], role: str, caplog: pytest.LogCaptureFixture
) -> None:
    variables = w3_variables("NO-SUCH-CODE-0000", reference=f"log-{uuid.uuid4().hex[:12]}")
    response, line = await _logged(server, "W3", variables, tokens[role], caplog)

    assert line["executor"] == "compiled"
    (refusal,) = response.json()["data"]["redeemOffer"]["userErrors"]
    assert refusal["code"] == ("NOT_FOUND" if role == "merchant" else "FORBIDDEN")
