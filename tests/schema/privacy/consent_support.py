"""Builders and readers for the consent tests: customers created through the API (so their
onboarding consent is in the history), the raw history rows, the outbox's consent events."""

from __future__ import annotations

import datetime
import random
import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from models.audit.audit import AuditEntry
from models.customers.identifiers import generate_mobile, generate_national_id
from models.events.outbox import OutboxEvent
from models.privacy.consent import ConsentChange
from schema.relay import from_global_id
from tests.conftest import Server

CREATE = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id version } userErrors { field code message } }
}
"""
UPDATE_CUSTOMER = """
mutation Update($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { id version } userErrors { field code message } }
}
"""
UPDATE_MINE = """
mutation Mine($input: UpdateMyConsentInput!) {
  updateMyConsent(input: $input) {
    consents {
      version doNotDisturbStart doNotDisturbEnd preferredChannel
      channels { channel granted since }
      history { channel granted source changedAt }
    }
    userErrors { field code message }
  }
}
"""
MINE = """
query Mine($first: Int! = 20) {
  myConsents {
    version doNotDisturbStart doNotDisturbEnd preferredChannel
    channels { channel granted since }
    history(first: $first) { channel granted source changedAt }
  }
}
"""
_rng = random.Random(1616)


async def create_customer(server: Server, token: str, consent: dict[str, Any]) -> tuple[str, int]:
    """A new customer through createCustomer: their global id and version."""
    born = datetime.date(1972, 1, 1) + datetime.timedelta(days=_rng.randrange(10000))
    data = {
        "name": "同意测试",
        "birthDate": born.isoformat(),
        "idNumber": generate_national_id(_rng, born),
        "phone": generate_mobile(_rng),
        "consent": consent,
    }
    body = await server.graphql(CREATE, {"input": data}, token=token)
    payload = body["data"]["createCustomer"]
    assert payload["userErrors"] == [], payload
    return payload["customer"]["id"], payload["customer"]["version"]


def raw_id(global_id: str) -> uuid.UUID:
    return uuid.UUID(from_global_id(global_id)[1])


async def history_rows(server: Server, customer_id: uuid.UUID) -> list[ConsentChange]:
    """The customer's consent history as stored, oldest first."""
    async with server.state.database.session() as session:
        rows = await session.scalars(
            select(ConsentChange)
            .where(col(ConsentChange.customer_id) == customer_id)
            .order_by(col(ConsentChange.changed_at), col(ConsentChange.channel))
        )
        return list(rows.all())


def changes(rows: list[ConsentChange]) -> set[tuple[str, bool, str]]:
    return {(row.channel, row.granted, row.source) for row in rows}


async def consent_events(server: Server, customer_id: uuid.UUID) -> int:
    """How many customer.consent_changed events the outbox holds for the customer."""
    async with server.state.database.session() as session:
        count = await session.scalar(
            select(func.count()).where(
                col(OutboxEvent.type) == "customer.consent_changed",
                col(OutboxEvent.aggregate_id) == str(customer_id),
            )
        )
        return int(count or 0)


async def customer_audits(server: Server, customer_id: uuid.UUID) -> list[AuditEntry]:
    """The audit entries of the customer's own changes (actor: the customer), oldest first."""
    async with server.state.database.session() as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(
                col(AuditEntry.target_id) == str(customer_id),
                col(AuditEntry.actor_kind) == "customer",
            )
            .order_by(col(AuditEntry.seq))
        )
        return list(rows.all())
