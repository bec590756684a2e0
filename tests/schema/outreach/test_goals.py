"""Each goal metric of ``Campaign.results`` counted from its own table, in the goal window.

Given a launched campaign with a 50 % control group, when goal events arrive for some
treated and some control customers (and one just outside the window), then ``results``
counts exactly those in the window: SPEND sums purchases against the threshold (a refund
does not count), REACTIVATION any purchase, OFFER_ACCEPTANCE the campaign's offer accepted
(another offer's does not count), and the lift is the difference of the two rates.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from models.cards.card import Card
from models.transactions.transaction import Transaction, TransactionKind
from resolvers.customers.input import Consent
from resolvers.outreach.launch import in_control
from schema.relay import to_global_id, uuid_of
from tests.conftest import Server
from tests.schema.outreach.support import (
    LAUNCH,
    RESULTS,
    create,
    saved_segment,
    tag,
    tagged_customers,
    terms,
    token,
)
from tests.support import World
from tests.support_offers import accept_offer, add_merchant, add_offer


async def _launched(
    server: Server, world: World, **extra: Any
) -> tuple[Any, set[uuid.UUID], set[uuid.UUID]]:
    """A launched campaign over 20 consenting customers, its treated and control customers."""
    label = tag()
    people = await tagged_customers(server, world, label, [Consent(sms=True)] * 20)
    segment = await saved_segment(server, world, label)
    created = await create(server, world, "admin", **terms(segment, controlPercent=50, **extra))
    assert created["userErrors"] == [], created
    campaign = created["campaign"]
    variables = {"input": {"campaignId": campaign["id"], "version": 1}}
    body = await server.graphql(LAUNCH, variables, token=token(server, world, "admin"))
    launched = body["data"]["launchCampaign"]
    assert launched["userErrors"] == []
    campaign_id = uuid_of(campaign["id"], "Campaign")
    control = {p for p in people if in_control(campaign_id, p, 50)}
    assert control
    assert control != set(people)
    return launched["campaign"], set(people) - control, control


async def _purchase(
    server: Server, customer_id: uuid.UUID, cents: int, at: datetime, kind: str = "purchase"
) -> None:
    async with server.state.database.session() as session:
        card = (
            await session.scalars(select(Card.id).where(col(Card.customer_id) == customer_id))
        ).first()
        assert card is not None
        session.add(
            Transaction(
                card_id=card,
                amount_cents=cents,
                merchant_name="测试商户",
                occurred_at=at,
                kind=kind,
                natural_key=f"goal:{uuid.uuid4()}",
            )
        )
        await session.commit()


async def _results(server: Server, world: World, campaign: Any) -> Any:
    body = await server.graphql(
        RESULTS, {"id": campaign["id"]}, token=token(server, world, "marketer")
    )
    assert "errors" not in body, body
    return body["data"]["campaign"]["results"]


def _assert_lift(
    results: Any, treated: int, treated_hits: int, control: int, control_hits: int
) -> None:
    assert results["treatment"]["size"] == treated
    assert results["treatment"]["reached"] == treated_hits
    assert results["controlGroup"]["size"] == control
    assert results["controlGroup"]["reached"] == control_hits
    value = treated_hits / treated - control_hits / control
    assert abs(results["lift"]["value"] - value) < 1e-9
    assert results["lift"]["low"] <= value <= results["lift"]["high"]


async def test_spend_counts_purchases_reaching_the_threshold_in_the_window(
    server: Server, world: World
) -> None:
    campaign, treated, control = await _launched(
        server, world, goal="SPEND", goalSpendCents=50_000, goalWindowDays=10
    )
    start = datetime.fromisoformat(campaign["launchedAt"])
    first, second, *_ = sorted(treated)
    await _purchase(server, first, 30_000, start + timedelta(days=1))
    await _purchase(server, first, 20_000, start + timedelta(days=2))  # 500 yuan in all: reached
    await _purchase(server, second, 60_000, start + timedelta(days=11))  # after the window
    await _purchase(
        server, second, 60_000, start + timedelta(days=1), kind=TransactionKind.REFUND.value
    )
    await _purchase(server, sorted(control)[0], 50_000, start + timedelta(hours=1))
    _assert_lift(await _results(server, world, campaign), len(treated), 1, len(control), 1)


async def test_reactivation_counts_any_purchase_in_the_window(server: Server, world: World) -> None:
    campaign, treated, control = await _launched(
        server, world, goal="REACTIVATION", goalWindowDays=5
    )
    start = datetime.fromisoformat(campaign["launchedAt"])
    for customer in sorted(treated)[:3]:
        await _purchase(server, customer, 100, start + timedelta(days=1))
    await _purchase(server, sorted(control)[0], 100, start - timedelta(days=1))  # before launch
    _assert_lift(await _results(server, world, campaign), len(treated), 3, len(control), 0)


async def test_offer_acceptance_counts_the_campaigns_offer_only(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state, f"活动商户{tag()}")
    offer, other = await add_offer(server.state, merchant), await add_offer(server.state, merchant)
    campaign, treated, control = await _launched(
        server,
        world,
        goal="OFFER_ACCEPTANCE",
        offerId=to_global_id("Offer", offer.id),
        template="{offer} 等您来",
    )
    for customer in sorted(treated)[:2]:
        await accept_offer(server.state, offer, customer)
    await accept_offer(server.state, other, sorted(treated)[2])
    await accept_offer(server.state, offer, sorted(control)[0])
    _assert_lift(await _results(server, world, campaign), len(treated), 2, len(control), 1)
