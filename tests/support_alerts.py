"""Risk alerts for tests that need one without importing transactions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from api.state import AppState
from models.cards.card import Card
from models.customers.customer import Customer
from models.risk.alert import AlertRule, AlertSeverity, RiskAlert


async def add_alert(state: AppState, customer_id: uuid.UUID, **values: Any) -> RiskAlert:
    """An OPEN velocity alert on the customer's first card (``values`` override columns)."""
    async with state.database.session() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        card = (
            await session.scalars(
                select(Card).where(col(Card.customer_id) == customer_id).order_by(col(Card.id))
            )
        ).first()
        columns: dict[str, Any] = {
            "rule": AlertRule.VELOCITY,
            "severity": AlertSeverity.HIGH,
            "customer_id": customer_id,
            "branch_id": customer.branch_id,
            "card_id": card.id if card else None,
            "amount_cents": 8_800,
            "occurred_at": datetime(2026, 5, 1, 4, 8, tzinfo=UTC),
            "details": {"count": 5, "windowMinutes": 10},
            "natural_key": f"test:{uuid.uuid4().hex}",
        }
        alert = RiskAlert(**(columns | values))
        session.add(alert)
        await session.commit()
        await session.refresh(alert)
        return alert
