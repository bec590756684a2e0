"""Helpers of the collections schema tests: an overdue cardholder's open case, and the
queue's documents over HTTP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from models.collections.case import CollectionCase
from models.customers.customer import Customer
from schema.relay import to_global_id
from tests.conftest import Server
from tests.schema.cards.support_limits import Cardholder, cardholder, raw_id
from tests.support import World

ERRORS = "userErrors { field code message }"
CASE_FIELDS = """
  id status bucket openingBucket daysPastDue overdueAmount promiseAmount promiseDate
  brokenPromises openedAt closedAt closeReason lastContactAt version
  card { id } customer { id } assignee { id }
  contacts(first: 5) { outcome promiseAmount promiseDate occurredAt notes staff { id } }
"""
LIST = f"""
query Queue($filter: CollectionCaseFilter, $first: Int) {{
  collectionCases(first: $first, filter: $filter) {{ edges {{ node {{ {CASE_FIELDS} }} }} }}
}}
"""
ASSIGN = f"""
mutation Assign($input: AssignCollectionCaseInput!) {{
  assignCollectionCase(input: $input) {{ case {{ id version assignee {{ id }} }} {ERRORS} }}
}}
"""
LOG = f"""
mutation Log($input: LogCollectionContactInput!) {{
  logCollectionContact(input: $input) {{ case {{ {CASE_FIELDS} }} {ERRORS} }}
}}
"""


@dataclass
class OpenCase:
    holder: Cardholder
    id: str  # global
    row_id: uuid.UUID
    branch_id: uuid.UUID


async def open_case(server: Server, world: World, branch: str = "BJ-CY") -> OpenCase:
    """A fresh cardholder of ``branch`` whose card is 11 days past due, with its open case."""
    holder = await cardholder(server, world, branch=branch)
    async with server.state.database.session() as session:
        customer = await session.get(Customer, holder.id)
        assert customer is not None
        case = CollectionCase(
            card_id=uuid.UUID(raw_id(holder.card)),
            customer_id=holder.id,
            branch_id=customer.branch_id,
            bucket="m1",
            opening_bucket="m1",
            days_past_due=11,
            overdue_cents=10_000,
        )
        session.add(case)
        await session.commit()
    return OpenCase(holder, to_global_id("CollectionCase", case.id), case.id, case.branch_id)


def payload(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    (result,) = body["data"].values()
    found: dict[str, Any] = result
    return found


def error_of(result: dict[str, Any]) -> tuple[str | None, str]:
    (error,) = result["userErrors"]
    return error["field"], error["code"]


async def queue(server: Server, token: str, card: str) -> Any:
    """The caller's cases of one card (the shared server holds other tests' cases too)."""
    return await server.graphql(LIST, {"filter": {"cardId": card}, "first": 10}, token=token)
