"""Helpers of the credit-limit tests: a fresh cardholder, requests and decisions over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from core.identity import Role
from models.audit.audit import AuditEntry
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.support import World, add_customer, add_oauth_client

REQUEST_FIELDS = """
  id status version currentLimit requestedLimit temporaryUntil requesterKind reason
  decisionReason decidedAt allowedActions card { id creditLimit }
"""
ERRORS = "userErrors { field code message }"
REQUEST = f"""
mutation Request($input: RequestCreditLimitChangeInput!) {{
  requestCreditLimitChange(input: $input) {{ request {{ {REQUEST_FIELDS} }} {ERRORS} }}
}}
"""
DECIDE = f"""
mutation Decide($input: DecideCreditLimitChangeInput!) {{
  decideCreditLimitChange(input: $input) {{ request {{ {REQUEST_FIELDS} }} {ERRORS} }}
}}
"""
CANCEL = f"""
mutation Cancel($input: CancelCreditLimitRequestInput!) {{
  cancelCreditLimitRequest(input: $input) {{ request {{ {REQUEST_FIELDS} }} {ERRORS} }}
}}
"""
DECREASE = f"""
mutation Decrease($input: DecreaseCreditLimitInput!) {{
  decreaseCreditLimit(input: $input) {{
    card {{ id creditLimit creditLimitHistory {{ kind oldLimit newLimit reasons note }} }}
    {ERRORS}
  }}
}}
"""
CARD = """
query Card($id: ID!) {
  node(id: $id) { ... on Card {
    id creditLimit pendingLimitRequest { id status }
    creditLimitHistory(first: 10) {
      kind oldLimit newLimit temporaryUntil reasons note actorKind requestId
    }
  } }
}
"""


def payload(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    (result,) = body["data"].values()
    found: dict[str, Any] = result
    return found


def error_of(result: dict[str, Any]) -> tuple[str | None, str]:
    (error,) = result["userErrors"]
    return error["field"], error["code"]


class Cardholder:
    """A fresh customer of a branch, their card, and their app token."""

    def __init__(self, server: Server, customer_id: uuid.UUID, card_id: str) -> None:
        self.server = server
        self.id = customer_id
        self.card = card_id
        self.token = customer_token(server, customer_id)


async def cardholder(server: Server, world: World, branch: str = "BJ-CY") -> Cardholder:
    customer_id = await add_customer(server.state, world, branch=branch)
    token = customer_token(server, customer_id)
    body = await server.graphql("{ me { cards { id creditLimit } } }", token=token)
    (card,) = body["data"]["me"]["cards"]
    assert card["creditLimit"] == "10000.00"
    return Cardholder(server, customer_id, card["id"])


def staff(server: Server, world: World, role: str) -> str:
    names = {
        "admin": "demo-admin",
        "supervisor": "demo-supervisor",
        "agent": "demo-agent",
        "agent_b": "demo-agent-b",
        "marketer": "demo-marketer",
        "risk_officer": "demo-risk",
        "auditor": "demo-auditor",
    }
    return staff_token(server, world, names[role])


async def service_token(server: Server) -> str:
    """A registered service account's token (the transaction feed's kind)."""
    credentials = await add_oauth_client(server.state, scopes="transactions:write", name="feed")
    client_id = credentials.client.client_id
    return server.state.tokens.issue(subject=client_id, role=Role.SERVICE, client_id=client_id)


async def request(
    server: Server,
    card: str,
    token: str,
    new_limit: str = "20000",
    *,
    until: date | None = None,
    reason: str = "出国旅行需要更高额度",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    variables = {
        "input": {
            "cardId": card,
            "newLimit": new_limit,
            "reason": reason,
            "temporaryUntil": until.isoformat() if until else None,
        }
    }
    return payload(await server.graphql(REQUEST, variables, token=token, headers=headers))


async def decide(
    server: Server, found: dict[str, Any], token: str, decision: str = "APPROVE", **more: Any
) -> dict[str, Any]:
    variables = {
        "input": {
            "requestId": found["id"],
            "decision": decision,
            "reason": "收入证明充分，还款记录良好",
            "version": found["version"],
            **more,
        }
    }
    return payload(await server.graphql(DECIDE, variables, token=token))


async def cancel(server: Server, found: dict[str, Any], token: str) -> dict[str, Any]:
    variables = {"input": {"requestId": found["id"], "version": found["version"]}}
    return payload(await server.graphql(CANCEL, variables, token=token))


async def card_view(server: Server, card: str, token: str) -> dict[str, Any]:
    body = await server.graphql(CARD, {"id": card}, token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["node"]
    return found


async def audit_actions(server: Server, target_id: str) -> list[tuple[str, str]]:
    async with server.state.database.session() as session:
        entries = await session.scalars(
            select(AuditEntry)
            .where(col(AuditEntry.target_id) == target_id)
            .order_by(col(AuditEntry.seq))
        )
        return [(entry.action, entry.actor_kind) for entry in entries]


def raw_id(global_id: str) -> str:
    from schema.relay import from_global_id

    return from_global_id(global_id)[1]


def in_days(days: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def branch_gid(world: World, code: str) -> str:
    return to_global_id("Branch", world.branches[code].id)
