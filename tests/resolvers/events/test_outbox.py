"""The outbox's writing side: the alert rules write ``risk_alert.raised`` set-based in their
batch's transaction, and every event the catalogue builds is one a subscription may ask for."""

from __future__ import annotations

import uuid

from sqlmodel import col, select

from auth import outbox
from auth.audit import AuditEvent
from models.events.outbox import OutboxEvent
from tests.conftest import Server
from tests.resolvers.risk.support_alerts import alerts_of, new_card, run_import
from tests.resolvers.risk.test_alert_rules import burst
from tests.support import World


async def test_a_raised_alert_has_its_event_once(server: Server, world: World) -> None:
    card = await new_card(server, world)
    await run_import(server, *burst(card, 0, 7))
    await run_import(server, *burst(card, 0, 7))  # raises nothing again: no second event
    [alert] = await alerts_of(server, card.customer_id)
    async with server.state.database.session() as session:
        rows = list(
            await session.scalars(
                select(OutboxEvent).where(col(OutboxEvent.aggregate_id) == str(alert.id))
            )
        )
    assert [(r.type, r.aggregate_type) for r in rows] == [("risk_alert.raised", "RiskAlert")]
    assert rows[0].payload == {
        "id": outbox.global_id("RiskAlert", alert.id),
        "customerId": outbox.global_id("Customer", card.customer_id),
        "cardId": outbox.global_id("Card", card.id),
        "rule": "velocity",
        "severity": "high",
        "status": "open",
    }


def test_every_catalogued_event_is_a_known_type_and_consent_has_its_own() -> None:
    target = str(uuid.uuid4())
    made: set[str] = set()
    for action, build in outbox.CATALOGUE.items():
        details = {"decision": "approve", "cardId": target, "from": "a", "to": "b"}
        fields = ["phone", "consent"]
        event = AuditEvent("staff", "x", action, "T", target, fields=fields, details=details)
        made.update(e.type for e in build(event))
    assert made | set(outbox.EMITTED) == set(outbox.event_types())
    assert "customer.consent_changed" in made
    assert outbox.events_of(AuditEvent("staff", "x", "pii.reveal", "Customer", target)) == []
