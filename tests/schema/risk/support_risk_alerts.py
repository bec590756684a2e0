"""Helpers of the risk alert schema tests: a fresh cardholder with an alert, tokens per role,
and the documents."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from models.cards.card import Card, CardStatus
from models.cards.history import CardEvent
from models.risk.alert import RiskAlert
from models.sealing import open_field
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF, World, add_customer
from tests.support_alerts import add_alert
from tests.support_offers import add_merchant, merchant_token

ERRORS = "userErrors { field code message }"
ALERT_FIELDS = """
  id rule severity status amount occurredAt version allowedActions
  details { count windowMinutes usualAmount category currency cardStatus }
  customerAnswer answeredAt resolvedBy resolvedAt createdAt
"""
RESOLVE = f"""
mutation Resolve($input: ResolveRiskAlertInput!) {{
  resolveRiskAlert(input: $input) {{ alert {{ {ALERT_FIELDS} resolutionNote }} {ERRORS} }}
}}
"""
CONFIRM = f"""
mutation Confirm($input: ConfirmTransactionInput!) {{
  confirmTransaction(input: $input) {{ alert {{ {ALERT_FIELDS} }} {ERRORS} }}
}}
"""
LIST = f"""
query List($filter: RiskAlertFilter, $first: Int) {{
  riskAlerts(first: $first, filter: $filter) {{ totalCount edges {{ node {{ {ALERT_FIELDS} }} }} }}
}}
"""


@dataclass(frozen=True)
class Holder:
    customer_id: uuid.UUID
    card_id: uuid.UUID
    token: str

    @property
    def gid(self) -> str:
        return to_global_id("Customer", self.customer_id)


async def holder(server: Server, world: World, *, branch: str = "BJ-CY") -> Holder:
    customer_id = await add_customer(server.state, world, branch=branch, active=True)
    async with server.state.database.session() as session:
        card = (
            await session.scalars(select(Card).where(col(Card.customer_id) == customer_id))
        ).one()
    return Holder(customer_id, card.id, customer_token(server, customer_id))


async def alert_for(server: Server, who: Holder, **values: Any) -> str:
    """A new OPEN alert on the holder's card; its global ID."""
    row = await add_alert(server.state, who.customer_id, **values)
    return to_global_id("RiskAlert", row.id)


async def tokens(server: Server, world: World) -> dict[str, str]:
    merchant = await add_merchant(server.state, f"风控商户-{uuid.uuid4().hex[:6]}")
    return {
        **{role: staff_token(server, world, name) for role, name in DEMO_STAFF.items()},
        "merchant": merchant_token(server.state, merchant),
    }


def payload(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    (result,) = body["data"].values()
    found: dict[str, Any] = result
    return found


async def card_state(server: Server, card_id: uuid.UUID) -> tuple[str, list[tuple[str, str]]]:
    """The card's status and its history as (action, reason)."""
    async with server.state.database.session() as session:
        card = await session.get(Card, card_id)
        assert card is not None
        events = await session.scalars(
            select(CardEvent)
            .where(col(CardEvent.card_id) == card_id)
            .order_by(col(CardEvent.created_at))
        )
        history = [
            (event.action, open_field(server.state.key_ring, event, "reason") or "")
            for event in events
        ]
        return card.status, history


async def set_card_status(server: Server, card_id: uuid.UUID, status: CardStatus) -> None:
    async with server.state.database.session() as session:
        card = await session.get(Card, card_id)
        assert card is not None
        card.status = status
        await session.commit()


async def alert_row(server: Server, gid: str) -> RiskAlert:
    from schema.relay import uuid_of

    async with server.state.database.session() as session:
        row = await session.get(RiskAlert, uuid_of(gid, "RiskAlert"))
        assert row is not None
        return row
