"""What the executor-comparison tests share: a token of every kind of caller, and the offers
and complaint W2 shows (the server with the compiled executor off, the reference every plan
is compared with, is the session's ``standard``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.columns import utcnow
from models.growth.offer import Offer
from schema.relay import to_global_id, uuid_of
from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF, World, add_oauth_client, client_credentials_token
from tests.support_offers import accept_offer, add_merchant


@pytest.fixture(scope="package")
async def tokens(server: Server, world: World) -> dict[str, str]:
    """A token per staff role, the demo customer's, a merchant's and a service client's."""
    merchant = await add_oauth_client(
        server.state, scopes="offers:read offers:redeem", merchant="双执行器商户"
    )
    service = await add_oauth_client(server.state, scopes="transactions:write", name="both")
    return {
        **{role: staff_token(server, world, username) for role, username in DEMO_STAFF.items()},
        "customer": customer_token(server, world.alice.id),
        "merchant": await client_credentials_token(server.client, merchant),
        "service": await client_credentials_token(server.client, service),
    }


CREATE_OFFER = """
mutation Create($input: CreateOfferInput!) {
  createOffer(input: $input) { offer { id version } userErrors { code message } }
}"""
ACTIVATE_OFFER = """
mutation Activate($input: OfferActionInput!) {
  activateOffer(input: $input) { userErrors { code message } }
}"""
FILE_COMPLAINT = """
mutation File($input: FileComplaintInput!) { fileComplaint(input: $input) { userErrors { code } } }
"""


@pytest.fixture(scope="package")
async def w2_data(server: Server, world: World, tokens: dict[str, str]) -> None:
    """What W2 shows beyond the customer's own rows, made through the API: live offers open
    to every customer (one with a quota, one targeted to Alice and accepted), and an open
    complaint Alice files in her branch, which its agent sees."""
    merchant = await add_merchant(server.state, "推荐商户")
    now = utcnow()
    offers = []
    for i, (kind, value, quota) in enumerate(
        (("PERCENT_OFF", 15, None), ("AMOUNT_OFF", 30, 5), ("POINTS_MULTIPLIER", 3, None))
    ):
        offer = {
            "merchantId": to_global_id("Merchant", merchant.id),
            "title": f"推荐优惠 {i}",
            "category": ("DINING", "TRAVEL", "SHOPPING")[i],
            "benefitType": kind,
            "benefitValue": value,
            "quota": quota,
            "startsAt": (now - timedelta(days=1)).isoformat(),
            "endsAt": (now + timedelta(days=20 + i)).isoformat(),
        }
        created = await server.graphql(CREATE_OFFER, {"input": offer}, token=tokens["marketer"])
        made = created["data"]["createOffer"]
        assert made["userErrors"] == [], created
        activated = await server.graphql(
            ACTIVATE_OFFER, {"input": made["offer"]}, token=tokens["marketer"]
        )
        assert activated["data"]["activateOffer"]["userErrors"] == [], activated
        offers.append(uuid_of(made["offer"]["id"], "Offer"))
    async with server.state.database.session() as session:
        targeted = await session.get(Offer, offers[1])
        assert targeted is not None
    await accept_offer(server.state, targeted, world.alice.id)
    complaint = {"description": "分期手续费和宣传的不一样", "category": "BILLING_DISPUTE"}
    filed = await server.graphql(FILE_COMPLAINT, {"input": complaint}, token=tokens["customer"])
    assert filed["data"]["fileComplaint"]["userErrors"] == [], filed
