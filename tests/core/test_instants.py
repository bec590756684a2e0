"""A time without a UTC offset names no instant. Wherever a caller sends one — the filters of
customers, complaints, interactions and the audit log, and ``logInteraction`` — it is
BAD_USER_INPUT at its field, on SQLite and PostgreSQL alike, instead of reaching the
database column and coming back as an unexpected error."""

from __future__ import annotations

from typing import Any

import pytest

from schema.relay import to_global_id
from tests.conftest import Server, staff_token
from tests.support import World

NAIVE = "2026-01-01T00:00:00"
CUSTOMERS = (
    "query ($at: DateTime) { customers(first: 1, filter: {createdFrom: $at}) { totalCount } }"
)
CUSTOMERS_TO = (
    "query ($at: DateTime) { customers(first: 1, filter: {createdTo: $at}) { totalCount } }"
)
COMPLAINTS = (
    "query ($at: DateTime) { complaints(first: 1, filter: {createdFrom: $at}) { totalCount } }"
)
INTERACTIONS = (
    "query ($at: DateTime) { interactions(first: 1, filter: {since: $at}) { totalCount } }"
)
AUDIT_LOG = "query ($at: DateTime) { auditLog(first: 1, filter: {until: $at}) { totalCount } }"
LOG = """
mutation Log($input: LogInteractionInput!) {
  logInteraction(input: $input) { interaction { id } userErrors { field code message } }
}
"""


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (CUSTOMERS, "createdFrom"),
        (CUSTOMERS_TO, "createdTo"),
        (COMPLAINTS, "createdFrom"),
        (INTERACTIONS, "since"),
        (AUDIT_LOG, "until"),
    ],
    ids=["customers from", "customers to", "complaints", "interactions", "audit log"],
)
async def test_a_filter_time_without_an_offset_is_bad_user_input_at_its_field(
    server: Server, world: World, query: str, field: str
) -> None:
    token = staff_token(server, world, "demo-admin")
    with_offset = await server.graphql(query, {"at": f"{NAIVE}+08:00"}, token=token)
    assert "errors" not in with_offset, with_offset

    body = await server.graphql(query, {"at": NAIVE}, token=token)

    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == field
    assert "UTC offset" in error["message"]
    (root,) = body["data"]
    assert body["data"] == {root: None}  # the connection is nullable: its error stops there


async def test_logging_an_interaction_at_a_time_without_an_offset_is_a_user_error(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    data: dict[str, Any] = {
        "customerId": to_global_id("Customer", world.alice.id),
        "channel": "BRANCH",
        "direction": "INBOUND",
        "kind": "SERVICE",
        "subject": "到访",
        "occurredAt": NAIVE,
    }

    body = await server.graphql(LOG, {"input": data}, token=token)

    assert "errors" not in body, body
    payload = body["data"]["logInteraction"]
    assert payload["interaction"] is None
    ((error),) = payload["userErrors"]
    assert (error["field"], error["code"]) == ("occurredAt", "BAD_USER_INPUT")
