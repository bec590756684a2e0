"""W3's codes (bench/redeem_codes.py): issued by the project's own code onto accepted
assignments of a benchmark merchant's offers, each redeemable once by that merchant through
the real ``redeemOffer`` with a token from the real /oauth/token; then removed."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import col, func, select

from bench.redeem_codes import (
    MIN_OFFERS,
    add_bench_merchant,
    count_redemptions,
    issue_pool,
    offers_needed,
    remove_pool,
)
from bench.servers import ClientCredentials, authorization_header
from bench.workloads import document, w3_variables
from models.growth.offer import Offer, OfferAssignment
from tests.conftest import Server
from tests.support import World

W3 = document("W3")


async def _redeem(server: Server, code: str, authorization: str) -> dict[str, Any]:
    response = await server.client.post(
        "/graphql",
        json={"query": W3, "variables": w3_variables(code)},
        headers={"Authorization": authorization},
    )
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()["data"]["redeemOffer"]
    return payload


def test_enough_offers_for_each_customer_to_hold_one_code_of_each() -> None:
    assert offers_needed(10, customers=100) == MIN_OFFERS
    assert offers_needed(1_000, customers=100) == 10
    assert offers_needed(1_001, customers=100) == 11


async def test_each_code_of_a_pool_redeems_once_and_the_pool_is_removed_after(
    server: Server, world: World
) -> None:
    # given: a benchmark merchant, its token from /oauth/token, and a pool of 20 codes
    state = server.state
    merchant = await add_bench_merchant(state.database)
    credentials = ClientCredentials(merchant.client_id, merchant.client_secret)
    authorization = await asyncio.to_thread(authorization_header, credentials, server.base_url)
    assert authorization is not None
    pool = await issue_pool(state.database, state.key_ring, merchant.merchant_id, 20)
    assert len(set(pool.codes)) == 20
    assert len(pool.offer_ids) == MIN_OFFERS

    # when: three codes are redeemed, and the first a second time
    for code in pool.codes[:3]:
        redeemed = await _redeem(server, code, authorization)
        assert redeemed["userErrors"] == [], redeemed
        assert redeemed["redemption"]["amount"] == "300.00"
    again = await _redeem(server, pool.codes[0], authorization)

    # then
    assert [error["code"] for error in again["userErrors"]] == ["CONFLICT"]
    assert await count_redemptions(state.database, pool) == 3

    await remove_pool(state.database, pool)
    async with state.database.session() as session:
        left = await session.scalar(
            select(func.count())
            .select_from(OfferAssignment)
            .where(col(OfferAssignment.offer_id).in_(pool.offer_ids))
        )
        offers = await session.scalar(
            select(func.count()).select_from(Offer).where(col(Offer.id).in_(pool.offer_ids))
        )
    assert (left, offers) == (0, 0)
