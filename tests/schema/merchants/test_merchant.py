"""The partner merchant's API over HTTP: its own offers, redeeming a code, its statistics.

Statistics are hand-counted from assignments placed at chosen times; every merchant is made
for its test, so the figures are its own whatever else is in the shared database.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from models.growth.offer import BenefitType, Offer, OfferStatus
from models.merchants.merchant import Merchant
from schema.relay import to_global_id
from tests.conftest import Server, customer_token
from tests.support import World, add_customer, add_oauth_client, client_credentials_token
from tests.support_offers import (
    accept_offer,
    add_assignment,
    add_merchant,
    add_offer,
    customer_ids,
    merchant_token,
)

MERCHANT_OFFERS = """
query Offers($status: OfferStatus) {
  merchantOffers(first: 10, status: $status) {
    totalCount
    edges { node {
      offerId title status merchantName quota budget minSpend benefitType benefitValue
      figures { views acceptances redemptions redeemedAmount benefitCost suppressed }
    } }
  }
}
"""
REDEEM = """
mutation Redeem($input: RedeemOfferInput!) {
  redeemOffer(input: $input) {
    redemption {
      pseudonym customerName amount benefit reference redeemedAt
      offer { offerId title }
    }
    userErrors { field code message }
  }
}
"""
STATS = """
query Stats($from: Date!, $to: Date!, $offerId: ID) {
  merchantStats(range: {from: $from, to: $to}, offerId: $offerId) {
    timeZone minGroupSize
    days { day views acceptances redemptions redeemedAmount benefitCost suppressed }
  }
}
"""
MY_OFFERS = """
{ me { offers { edges { node {
  status redeemedAmount offer { offerId benefitType benefitValue }
} } } } }
"""
SHANGHAI = timedelta(hours=8)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of March 2025 in Shanghai local time, as a UTC datetime."""
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC) - SHANGHAI


async def _offers(server: Server, token: str, status: str | None = None) -> dict[str, Any]:
    body = await server.graphql(MERCHANT_OFFERS, {"status": status}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["merchantOffers"]
    return result


async def test_merchant_offers_lists_the_merchants_own_offers_only(
    server: Server, world: World
) -> None:
    mine, theirs = await add_merchant(server.state), await add_merchant(server.state)
    old = await add_offer(
        server.state, mine, title="老优惠", quota=100, budget_cents=50_000, min_spend_cents=9_950
    )
    new = await add_offer(server.state, mine, title="新优惠", status=OfferStatus.PAUSED)
    await add_offer(server.state, theirs, title="别家的优惠")

    offers = await _offers(server, merchant_token(server.state, mine))

    assert offers["totalCount"] == 2
    nodes = [edge["node"] for edge in offers["edges"]]
    assert [n["title"] for n in nodes] == ["新优惠", "老优惠"]
    assert [n["offerId"] for n in nodes] == [to_global_id("Offer", o.id) for o in (new, old)]
    assert nodes[1]["quota"] == 100
    assert (nodes[1]["budget"], nodes[1]["minSpend"]) == ("500.00", "99.50")  # yuan
    assert (nodes[0]["budget"], nodes[0]["minSpend"]) == (None, "0.00")
    assert [(n["benefitType"], n["benefitValue"]) for n in nodes] == [("PERCENT_OFF", "10")] * 2
    assert {n["merchantName"] for n in nodes} == {mine.name}


async def test_merchant_offers_filters_by_status_past_windows_being_expired(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    now = datetime.now(UTC)
    await add_offer(server.state, merchant, title="进行中")
    await add_offer(server.state, merchant, title="暂停", status=OfferStatus.PAUSED)
    await add_offer(
        server.state,
        merchant,
        title="已过期",
        starts_at=now - timedelta(days=9),
        ends_at=now - timedelta(days=1),
    )
    token = merchant_token(server.state, merchant)

    titles = {
        status: [e["node"]["title"] for e in (await _offers(server, token, status))["edges"]]
        for status in ("ACTIVE", "PAUSED", "EXPIRED", "DRAFT")
    }

    assert titles == {"ACTIVE": ["进行中"], "PAUSED": ["暂停"], "EXPIRED": ["已过期"], "DRAFT": []}


async def test_offer_figures_are_suppressed_below_five_customers_and_shown_from_five(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    small = await add_offer(server.state, merchant, title="小")
    large = await add_offer(server.state, merchant, title="大")
    customers = await customer_ids(server.state, 5)
    at = _local(1, 10)
    for customer in customers[:4]:
        await add_assignment(server.state, small, customer, viewed_at=at, accepted_at=at)
    for customer in customers:
        await add_assignment(
            server.state,
            large,
            customer,
            viewed_at=at,
            accepted_at=at,
            redeemed_at=at,
            amount_cents=10_000,
            benefit_cents=1_000,
        )

    offers = await _offers(server, merchant_token(server.state, merchant))

    figures = {e["node"]["title"]: e["node"]["figures"] for e in offers["edges"]}
    assert figures["小"] == {
        "views": None,
        "acceptances": None,
        "redemptions": 0,
        "redeemedAmount": "0.00",
        "benefitCost": "0.00",
        "suppressed": True,
    }
    assert figures["大"] == {
        "views": 5,
        "acceptances": 5,
        "redemptions": 5,
        "redeemedAmount": "500.00",
        "benefitCost": "50.00",
        "suppressed": False,
    }


async def test_merchant_offers_costs_the_same_statements_for_one_offer_or_many(
    server: Server, world: World
) -> None:
    one, many = await add_merchant(server.state), await add_merchant(server.state)
    await add_offer(server.state, one)
    for _ in range(6):
        await add_offer(server.state, many)

    counts = []
    for merchant in (one, many):
        body, statements = await server.count_statements(
            MERCHANT_OFFERS, {"status": None}, token=merchant_token(server.state, merchant)
        )
        assert "errors" not in body, body
        counts.append(statements)

    assert counts[0] == counts[1]


async def _redeem(server: Server, token: str, **input: Any) -> dict[str, Any]:
    body = await server.graphql(REDEEM, {"input": {"amount": "200.00", **input}}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["redeemOffer"]
    return payload


async def test_redeeming_over_http_shows_a_pseudonym_and_a_masked_name_only(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    offer = await add_offer(server.state, merchant, benefit_value=15)
    accepted = await accept_offer(server.state, offer, world.alice.id)
    token = merchant_token(server.state, merchant)

    payload = await _redeem(server, token, code=accepted.code, reference="POS-1")

    assert payload["userErrors"] == []
    redemption = payload["redemption"]
    assert redemption["customerName"] == "张*丰"
    assert redemption["pseudonym"].startswith("cust_")
    assert (redemption["amount"], redemption["benefit"]) == ("200.00", "30.00")
    assert redemption["reference"] == "POS-1"
    assert redemption["offer"] == {"offerId": to_global_id("Offer", offer.id), "title": offer.title}


async def test_the_customer_sees_the_redeemed_purchase_in_yuan(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    offer = await add_offer(
        server.state, merchant, benefit_type=BenefitType.CASHBACK, benefit_value=1_250
    )
    customer = await add_customer(server.state, world)  # a fresh one: this is their only offer
    accepted = await accept_offer(server.state, offer, customer)
    await _redeem(server, merchant_token(server.state, merchant), code=accepted.code, amount="88.8")

    body = await server.graphql(MY_OFFERS, token=customer_token(server, customer))

    assert "errors" not in body, body
    (edge,) = body["data"]["me"]["offers"]["edges"]
    mine = edge["node"]
    assert mine["offer"]["offerId"] == to_global_id("Offer", offer.id)
    assert (mine["status"], mine["redeemedAmount"]) == ("REDEEMED", "88.80")
    assert (mine["offer"]["benefitType"], mine["offer"]["benefitValue"]) == ("CASHBACK", "12.50")


async def test_a_second_redemption_of_a_code_is_a_user_error_and_the_same_retry_is_not(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    offer = await add_offer(server.state, merchant)
    accepted = await accept_offer(server.state, offer, (await customer_ids(server.state, 1))[0])
    token = merchant_token(server.state, merchant)
    first = await _redeem(server, token, code=accepted.code, reference="POS-9")

    retry = await _redeem(server, token, code=accepted.code, reference="POS-9")
    other = await _redeem(server, token, code=accepted.code, reference="POS-10")

    assert retry == first
    assert other == {
        "redemption": None,
        "userErrors": [
            {"field": "code", "code": "CONFLICT", "message": "this code has already been redeemed"}
        ],
    }


async def test_an_idempotency_key_replays_the_first_redemption(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    offer = await add_offer(server.state, merchant)
    accepted = await accept_offer(server.state, offer, (await customer_ids(server.state, 2))[1])
    token = merchant_token(server.state, merchant)
    variables = {"input": {"code": accepted.code, "amount": "50.00"}}
    headers = {"Idempotency-Key": f"till-{uuid.uuid4()}"}

    first = await server.post(REDEEM, variables, token=token, headers=headers)
    again = await server.post(REDEEM, variables, token=token, headers=headers)

    assert first.json()["data"]["redeemOffer"]["userErrors"] == []
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()


async def test_refusals_arrive_as_user_errors_with_stable_codes(
    server: Server, world: World
) -> None:
    merchant, other = await add_merchant(server.state), await add_merchant(server.state)
    customers = await customer_ids(server.state, 2)
    theirs = await accept_offer(server.state, await add_offer(server.state, other), customers[0])
    picky = await add_offer(server.state, merchant, min_spend_cents=30_000)
    mine = await accept_offer(server.state, picky, customers[1])
    token = merchant_token(server.state, merchant)

    refused = {
        "unknown": await _redeem(server, token, code="22222-22222"),
        "theirs": await _redeem(server, token, code=theirs.code),
        "too small": await _redeem(server, token, code=mine.code, amount="299.99"),
        "bad amount": await _redeem(server, token, code=mine.code, amount="-5"),
    }

    codes = {
        case: [(e["field"], e["code"]) for e in payload["userErrors"]]
        for case, payload in refused.items()
    }
    assert codes == {
        "unknown": [("code", "NOT_FOUND")],
        "theirs": [("code", "NOT_FOUND")],
        "too small": [("amount", "BAD_USER_INPUT")],
        "bad amount": [("amount", "BAD_USER_INPUT")],
    }
    assert refused["unknown"]["userErrors"] == refused["theirs"]["userErrors"]
    assert all(payload["redemption"] is None for payload in refused.values())


async def test_the_pseudonym_is_stable_at_one_merchant_and_differs_at_another(
    server: Server, world: World
) -> None:
    shop, other_shop = await add_merchant(server.state), await add_merchant(server.state)
    pseudonyms = []
    for merchant in (shop, shop, other_shop):
        offer = await add_offer(server.state, merchant)
        accepted = await accept_offer(server.state, offer, world.bob.id)
        payload = await _redeem(server, merchant_token(server.state, merchant), code=accepted.code)
        pseudonyms.append(payload["redemption"]["pseudonym"])

    assert pseudonyms[0] == pseudonyms[1]
    assert pseudonyms[2] != pseudonyms[0]


async def test_no_merchant_response_carries_the_customers_real_id(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    offer = await add_offer(server.state, merchant)
    accepted = await accept_offer(server.state, offer, world.alice.id)
    token = merchant_token(server.state, merchant)
    today = datetime.now(UTC).date()
    texts = [
        (
            await server.post(
                REDEEM, {"input": {"code": accepted.code, "amount": "9.00"}}, token=token
            )
        ).text,
        (await server.post(MERCHANT_OFFERS, {}, token=token)).text,
        (
            await server.post(
                STATS,
                {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))},
                token=token,
            )
        ).text,
    ]

    alice = world.alice.id
    secrets = [str(alice), alice.hex, to_global_id("Customer", alice), "张三丰", "13812345678"]
    for text in texts:
        assert '"errors"' not in text, text
        for secret in secrets:
            assert secret not in text


async def _stats_world(server: Server) -> tuple[Merchant, Offer]:
    """The hand-counted world of the statistics tests (times are Shanghai local):

    offer A, customers c0–c4: viewed 1 Mar 10:00; c0–c2 accepted 1 Mar, c3–c4 2 Mar; c0–c3
    redeemed 3 Mar 10:00 and c4 at 00:30 on 3 Mar (still 2 Mar in UTC), 100.00 with 10.00 off.
    offer B: c0–c3 viewed 2 Mar; c5 viewed 1 Mar, accepted 2 Mar, redeemed 2 Mar 23:59 (50.00,
    5.00 off). offer C: c0–c3 viewed 2 Mar — the same four customers as B's that day.
    """
    merchant = await add_merchant(server.state)
    a, b, c = [await add_offer(server.state, merchant, title=t) for t in "ABC"]
    c0, c1, c2, c3, c4, c5 = await customer_ids(server.state, 6)
    for customer, accepted_day, redeemed_at in (
        (c0, 1, _local(3, 10)),
        (c1, 1, _local(3, 10)),
        (c2, 1, _local(3, 10)),
        (c3, 2, _local(3, 10)),
        (c4, 2, _local(3, 0, 30)),
    ):
        await add_assignment(
            server.state,
            a,
            customer,
            viewed_at=_local(1, 10),
            accepted_at=_local(accepted_day, 11),
            redeemed_at=redeemed_at,
            amount_cents=10_000,
            benefit_cents=1_000,
        )
    for customer in (c0, c1, c2, c3):
        await add_assignment(server.state, b, customer, viewed_at=_local(2, 12))
        await add_assignment(server.state, c, customer, viewed_at=_local(2, 12))
    await add_assignment(
        server.state,
        b,
        c5,
        viewed_at=_local(1, 9),
        accepted_at=_local(2, 9),
        redeemed_at=_local(2, 23, 59),
        amount_cents=5_000,
        benefit_cents=500,
    )
    return merchant, a


def _day(
    day: str,
    views: int | None,
    acceptances: int | None,
    redemptions: int | None,
    amount: str | None,
    benefit: str | None,
) -> dict[str, Any]:
    return {
        "day": day,
        "views": views,
        "acceptances": acceptances,
        "redemptions": redemptions,
        "redeemedAmount": amount,
        "benefitCost": benefit,
        "suppressed": None in (views, acceptances, redemptions),
    }


async def test_merchant_stats_match_a_hand_count_by_shanghai_day_with_small_groups_hidden(
    server: Server, world: World
) -> None:
    merchant, _ = await _stats_world(server)

    body = await server.graphql(
        STATS,
        {"from": "2025-03-01", "to": "2025-03-04"},
        token=merchant_token(server.state, merchant),
    )

    assert "errors" not in body, body
    stats = body["data"]["merchantStats"]
    assert (stats["timeZone"], stats["minGroupSize"]) == ("Asia/Shanghai", 5)
    assert stats["days"] == [
        # 6 viewers (A: c0–c4, B: c5); 3 acceptances (c0–c2): hidden; nothing redeemed.
        _day("2025-03-01", 6, None, 0, "0.00", "0.00"),
        # 8 views by 4 distinct customers: hidden; 3 acceptances, 1 redemption: hidden.
        _day("2025-03-02", None, None, None, None, None),
        # 5 redemptions by 5 customers, c4's at 00:30 local included: shown, with the sums.
        _day("2025-03-03", 0, 0, 5, "500.00", "50.00"),
        _day("2025-03-04", 0, 0, 0, "0.00", "0.00"),
    ]


async def test_merchant_stats_of_one_offer_count_that_offer_only(
    server: Server, world: World
) -> None:
    merchant, a = await _stats_world(server)

    body = await server.graphql(
        STATS,
        {"from": "2025-03-01", "to": "2025-03-03", "offerId": to_global_id("Offer", a.id)},
        token=merchant_token(server.state, merchant),
    )

    assert [
        (d["day"], d["views"], d["acceptances"], d["redemptions"])
        for d in body["data"]["merchantStats"]["days"]
    ] == [("2025-03-01", 5, None, 0), ("2025-03-02", 0, None, 0), ("2025-03-03", 0, 0, 5)]


async def test_merchant_stats_of_another_merchants_offer_are_not_found(
    server: Server, world: World
) -> None:
    merchant, other = await add_merchant(server.state), await add_merchant(server.state)
    theirs = await add_offer(server.state, other)

    body = await server.graphql(
        STATS,
        {"from": "2025-03-01", "to": "2025-03-02", "offerId": to_global_id("Offer", theirs.id)},
        token=merchant_token(server.state, merchant),
    )

    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("NOT_FOUND", "offerId")
    ]


async def test_merchant_stats_refuse_backward_and_overlong_ranges(
    server: Server, world: World
) -> None:
    token = merchant_token(server.state, await add_merchant(server.state))

    backward = await server.graphql(STATS, {"from": "2025-03-02", "to": "2025-03-01"}, token=token)
    overlong = await server.graphql(STATS, {"from": "2024-01-01", "to": "2025-01-01"}, token=token)

    assert [e["extensions"]["code"] for e in backward["errors"]] == ["BAD_USER_INPUT"]
    assert [e["extensions"]["code"] for e in overlong["errors"]] == ["BAD_USER_INPUT"]


async def test_a_merchant_with_a_client_credentials_token_redeems_a_code_exactly_once(
    server: Server, world: World
) -> None:
    credentials = await add_oauth_client(
        server.state, scopes="offers:read offers:redeem", merchant=f"端到端 {uuid.uuid4().hex[:6]}"
    )
    token = await client_credentials_token(server.client, credentials)
    async with server.state.database.session() as session:
        merchant = (
            await session.scalars(
                select(Merchant).where(Merchant.id == credentials.client.merchant_id)  # type: ignore[arg-type]
            )
        ).one()
    offer = await add_offer(
        server.state, merchant, benefit_type=BenefitType.AMOUNT_OFF, benefit_value=2_000
    )
    accepted = await accept_offer(server.state, offer, world.alice.id)

    first = await _redeem(server, token, code=accepted.code, amount="88.00")
    second = await _redeem(server, token, code=accepted.code, amount="88.00")

    assert first["redemption"]["benefit"] == "20.00"
    assert [e["code"] for e in second["userErrors"]] == ["CONFLICT"]
    listed = await _offers(server, token)
    assert [e["node"]["title"] for e in listed["edges"]] == [offer.title]
    assert listed["edges"][0]["node"]["benefitValue"] == "20.00"  # yuan off, like the benefit


async def test_merchant_stats_cost_the_same_statements_for_a_day_or_a_year(
    server: Server, world: World
) -> None:
    merchant, _ = await _stats_world(server)
    token = merchant_token(server.state, merchant)

    counts = []
    for last in ("2025-03-01", "2026-02-28"):
        body, statements = await server.count_statements(
            STATS, {"from": "2025-03-01", "to": last}, token=token
        )
        assert "errors" not in body, body
        counts.append(statements)

    assert counts[0] == counts[1]
