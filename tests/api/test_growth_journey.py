"""The growth slice end to end, the way the README walks through it, on demo data.

Given a demo database, when a generated transaction file is imported and every customer is
evaluated, then stages, segments, tiers and churn reasons change as the rules say; a marketer
targets the demo dining offer and exactly the eligible, consenting customers receive it; a
customer accepts it in the app; the partner merchant, with a client-credentials token from
``/oauth/token``, redeems the code exactly once; revoking the client stops its token at once;
and the growth KPIs count what happened.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.identity import Role
from models.customers.customer import Customer, LifecycleHistory
from models.growth.customer_metrics import CustomerMetrics
from models.growth.offer import Offer, OfferAssignment
from models.growth.tier import TierHistory
from models.organisation.organisation import StaffUser
from models.transactions.transaction import Transaction
from schema.relay import to_global_id
from tests.conftest import Server
from tests.models.conftest import FreshDatabase
from tests.security.conftest import running_app, variant

pytestmark = pytest.mark.slow

CUSTOMERS = 80
ROWS = 12_000
DINING_OFFER = "拿铁第二杯半价"

TARGET = """
mutation Target($id: ID!) {
  targetOffer(input: {offerId: $id}) { targeted skippedOverQuota userErrors { code message } }
}
"""
MY_OFFERS = "{ me { offers { edges { node { id status offer { title } } } } } }"
ACCEPT = """
mutation Accept($id: ID!) {
  acceptOffer(input: {assignmentId: $id}) {
    assignment { status redemptionCode } userErrors { code message }
  }
}
"""
REDEEM = """
mutation Redeem($code: String!, $reference: String!) {
  redeemOffer(input: {code: $code, amount: "88.00", reference: $reference}) {
    redemption { pseudonym customerName amount reference }
    userErrors { field code message }
  }
}
"""
FUNNEL = """
query Funnel($from: DateTime!, $to: DateTime!) {
  analytics { growth(range: {from: $from, to: $to}) {
    offers { title funnel { targeted accepted redeemed } }
  } }
}
"""


@pytest.fixture
async def app(fresh_database: FreshDatabase) -> AsyncIterator[Server]:
    settings = variant(fresh_database.settings)
    async with running_app(settings) as server:
        yield server


def _cli_ok(result: Any) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return str(result.stdout)


async def _count(server: Server, model: Any) -> int:
    async with server.state.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


async def _staff_token(server: Server, username: str) -> str:
    async with server.state.database.session() as session:
        user = (
            await session.scalars(select(StaffUser).where(StaffUser.username == username))
        ).one()
    return server.state.tokens.issue(
        subject=str(user.id),
        role=Role(user.role),
        client_id="cardcrm-console",
        branch_id=user.branch_id,
        username=user.username,
    )


async def _import_and_evaluate(fresh: FreshDatabase, tmp_path: Path) -> None:
    # Without the seed's own year of card use: the transactions are the file's.
    seed = ("seed", "--demo", "--customers", str(CUSTOMERS), "--seed", "5")
    _cli_ok(await fresh.run_cli(*seed, "--purchases-per-customer", "0"))
    feed = tmp_path / "transactions.csv"
    _cli_ok(
        await fresh.run_cli("generate", "transactions", "--out", str(feed), "--rows", str(ROWS))
    )
    rows = len(feed.read_text().splitlines()) - 1  # ROWS purchases, repayments, fraud patterns
    imported = _cli_ok(await fresh.run_cli("import", "transactions", str(feed)))
    assert f"{rows:,} imported, 0 already present, 0 rejected" in imported, imported
    again = _cli_ok(await fresh.run_cli("import", "transactions", str(feed)))
    assert f"0 imported, {rows:,} already present" in again, again
    _cli_ok(await fresh.run_cli("evaluate"))


async def _dining_eligible(server: Server) -> tuple[Offer, set[Any]]:
    """The demo dining offer and who may receive it, counted by hand: in the dining segment,
    some dining spend, and consent on at least one channel."""
    async with server.state.database.session() as session:
        offer = (await session.scalars(select(Offer).where(Offer.title == DINING_OFFER))).one()
        rows = (
            await session.execute(select(Customer, CustomerMetrics).join(CustomerMetrics))
        ).all()
    eligible = {
        customer.id
        for customer, metrics in rows
        if "dining" in customer.segments
        and metrics.category_spend.get("dining", 0) > 0
        and any(
            (
                customer.consent_sms,
                customer.consent_email,
                customer.consent_push,
                customer.consent_phone,
            )
        )
    }
    return offer, eligible


async def test_import_evaluate_target_accept_redeem_and_revoke(
    fresh_database: FreshDatabase, app: Server, tmp_path: Path
) -> None:
    # given the demo data with a year of transactions, evaluated
    await _import_and_evaluate(fresh_database, tmp_path)
    assert await _count(app, Transaction) > ROWS  # the purchases and the repayments
    assert await _count(app, CustomerMetrics) == CUSTOMERS
    assert await _count(app, LifecycleHistory) > 0  # seeded stages were random; rules moved them
    assert await _count(app, TierHistory) > 0
    async with app.state.database.session() as session:
        customers = (await session.scalars(select(Customer))).all()
        at_risk = (
            await session.scalars(select(CustomerMetrics).where(CustomerMetrics.churn_score >= 0.5))
        ).all()
    assert len({customer.lifecycle_stage for customer in customers}) >= 3
    assert any("dining" in customer.segments for customer in customers)
    assert at_risk
    assert all(metrics.churn_reasons for metrics in at_risk)

    # when a marketer targets the dining offer, exactly the eligible, consenting customers get it
    offer, eligible = await _dining_eligible(app)
    assert eligible
    marketer = await _staff_token(app, "demo-marketer")
    body = await app.graphql(TARGET, {"id": to_global_id("Offer", offer.id)}, token=marketer)
    assert body["data"]["targetOffer"] == {
        "targeted": len(eligible),
        "skippedOverQuota": 0,
        "userErrors": [],
    }
    async with app.state.database.session() as session:
        targeted = set(
            await session.scalars(
                select(OfferAssignment.customer_id).where(OfferAssignment.offer_id == offer.id)
            )
        )
    assert targeted == eligible

    # and a customer accepts it in the app, getting a one-time code
    customer_id = sorted(eligible)[0]
    customer = app.state.tokens.issue(
        subject=str(customer_id), role=Role.CUSTOMER, client_id="cardcrm-mobile"
    )
    mine = await app.graphql(MY_OFFERS, token=customer)
    (edge,) = mine["data"]["me"]["offers"]["edges"]
    assert edge["node"]["offer"]["title"] == DINING_OFFER
    accepted = await app.graphql(ACCEPT, {"id": edge["node"]["id"]}, token=customer)
    code = accepted["data"]["acceptOffer"]["assignment"]["redemptionCode"]
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}", code)

    # then the merchant redeems it exactly once with a client-credentials token
    created = _cli_ok(
        await fresh_database.run_cli(
            "clients", "create", "--merchant", "街角咖啡", "--scopes", "offers:read offers:redeem"
        )
    )
    client_id = re.search(r"client_id:\s+(\S+)", created)
    secret = re.search(r"client_secret:\s+(\S+)", created)
    assert client_id
    assert secret
    response = await app.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id[1], secret[1]),
    )
    assert response.status_code == 200, response.text
    merchant = response.json()["access_token"]
    first = await app.graphql(REDEEM, {"code": code, "reference": "R-1"}, token=merchant)
    redemption = first["data"]["redeemOffer"]["redemption"]
    assert redemption["amount"] == "88.00"
    assert redemption["pseudonym"].startswith("cust_")
    assert str(customer_id) not in str(first)
    retried = await app.graphql(REDEEM, {"code": code, "reference": "R-1"}, token=merchant)
    assert retried == first  # the same redemption, not a second one
    other = await app.graphql(REDEEM, {"code": code, "reference": "R-2"}, token=merchant)
    assert other["data"]["redeemOffer"]["redemption"] is None
    assert other["data"]["redeemOffer"]["userErrors"][0]["code"] == "CONFLICT"

    # and the growth KPIs count the funnel
    admin = await _staff_token(app, "demo-admin")
    now = datetime.now(UTC)
    window = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }
    kpis = await app.graphql(FUNNEL, window, token=admin)
    (dining,) = [
        item
        for item in kpis["data"]["analytics"]["growth"]["offers"]
        if item["title"] == DINING_OFFER
    ]
    assert dining["funnel"] == {"targeted": len(eligible), "accepted": 1, "redeemed": 1}

    # and revoking the client stops its token at once
    _cli_ok(await fresh_database.run_cli("clients", "revoke", client_id[1]))
    refused = await app.post(REDEEM, {"code": code, "reference": "R-1"}, token=merchant)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
