"""Builders for the campaign tests: tagged customers, a saved segment of them, a campaign."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update

from models.customers.customer import Customer
from resolvers.customers.input import Consent
from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF, World, add_customer, add_oauth_client, letters_label
from tests.support import client_credentials_token as merchant_credentials

SAVE_SEGMENT = """
mutation($input: SaveSegmentInput!) {
  saveSegment(input: $input) { segment { id name } userErrors { code field } }
}
"""
CREATE = """
mutation($input: CreateCampaignInput!) {
  createCampaign(input: $input) {
    campaign { id name status version channel goal controlPercent withSurvey template }
    userErrors { field code message }
  }
}
"""
UPDATE = """
mutation($input: UpdateCampaignInput!) {
  updateCampaign(input: $input) {
    campaign { id name status version controlPercent } userErrors { field code message }
  }
}
"""
CANCEL = """
mutation($input: CampaignVersionInput!) {
  cancelCampaign(input: $input) { campaign { id status version } userErrors { field code } }
}
"""
LAUNCH = """
mutation($input: CampaignVersionInput!) {
  launchCampaign(input: $input) {
    campaign { id status version launchedAt }
    audience control messaged noConsent delayed
    userErrors { field code message }
  }
}
"""
RESULTS = """
query($id: ID!) {
  campaign(id: $id) {
    id status
    results {
      audience control messaged noConsent delivered
      treatment { size reached rate }
      controlGroup { size reached rate }
      lift { value low high }
    }
  }
}
"""


def tag() -> str:
    """A fresh label of letters only (digits could read as personal data in a name)."""
    return letters_label()


def token(server: Server, world: World, role: str) -> str:
    return staff_token(server, world, DEMO_STAFF[role])


async def outsider_tokens(server: Server, world: World) -> dict[str, str]:
    """A customer's and a partner merchant's tokens."""
    merchant = await add_oauth_client(
        server.state, scopes="offers:read offers:redeem", merchant=f"活动商户{tag()}"
    )
    return {
        "customer": customer_token(server, world.alice.id),
        "merchant": await merchant_credentials(server.client, merchant),
    }


async def tagged_customers(
    server: Server, world: World, label: str, consents: list[Consent]
) -> list[uuid.UUID]:
    """One customer per consent, each carrying the tag ``label``."""
    ids = []
    for consent in consents:
        customer_id = await add_customer(server.state, world, consent=consent)
        async with server.state.database.session() as session:
            await session.execute(
                update(Customer)
                .where(Customer.id == customer_id)  # type: ignore[arg-type]
                .values(tags=[label])
            )
            await session.commit()
        ids.append(customer_id)
    return ids


async def saved_segment(server: Server, world: World, label: str) -> str:
    """A saved segment of the customers tagged ``label``; its name is the label."""
    body = await server.graphql(
        SAVE_SEGMENT,
        {"input": {"name": label, "filter": {"tags": [label]}}},
        token=token(server, world, "marketer"),
    )
    assert body["data"]["saveSegment"]["userErrors"] == [], body
    return label


def terms(segment: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"活动 {uuid.uuid4().hex[:8]}",
        "segment": segment,
        "channel": "SMS",
        "template": "尊敬的{name}，您的{tier}卡有新礼遇",
        "goal": "CARD_ACTIVATION",
        **extra,
    }


async def create(server: Server, world: World, role: str = "marketer", **extra: Any) -> Any:
    body = await server.graphql(CREATE, {"input": extra}, token=token(server, world, role))
    assert "errors" not in body, body
    return body["data"]["createCampaign"]
