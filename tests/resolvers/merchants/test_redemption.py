"""Redeeming an offer code (``resolvers.merchants.redemption``): exactly once, idempotent, and every
refusal leaves the assignment as it was. Runs on the shared test database, on offers of a
merchant made for each test."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.errors import BadUserInput, Conflict, DomainError, Forbidden, NotFound
from core.identity import Principal, Scope
from models.columns import utcnow
from models.growth.offer import AssignmentStatus, BenefitType, OfferAssignment, OfferStatus
from models.merchants.merchant import Merchant
from resolvers.merchants.redemption import Redemption, RedemptionRequest, redeem_offer
from tests.conftest import Server, staff_token
from tests.support import World
from tests.support_offers import (
    Accepted,
    accept_offer,
    add_merchant,
    add_offer,
    customer_ids,
    merchant_token,
)


def _principal(
    server: Server, merchant: Merchant, scopes: frozenset[Scope] | None = None
) -> Principal:
    token = merchant_token(server.state, merchant, *(() if scopes is None else (scopes,)))
    return server.state.tokens.verify(token)


async def _redeem(
    server: Server,
    principal: Principal,
    code: str,
    amount: str = "120.00",
    reference: str | None = None,
) -> Redemption:
    async with server.state.database.session() as session:
        return await redeem_offer(
            session=session,
            ring=server.state.key_ring,
            principal=principal,
            request=RedemptionRequest(code, Decimal(amount), reference),
        )


async def _row(server: Server, assignment_id: uuid.UUID) -> OfferAssignment:
    async with server.state.database.session() as session:
        row: OfferAssignment = (
            await session.scalars(
                select(OfferAssignment).where(OfferAssignment.id == assignment_id)
            )  # type: ignore[arg-type]
        ).one()
        return row


async def _assert_untouched(server: Server, accepted: Accepted) -> None:
    row = await _row(server, accepted.assignment_id)
    assert row.status == AssignmentStatus.ACCEPTED.value
    assert (row.redeemed_at, row.redeemed_amount_cents, row.benefit_cents) == (None, None, None)
    assert row.redemption_key is None


async def _accepted(
    server: Server, merchant: Merchant, index: int = 0, **terms: object
) -> Accepted:
    offer = await add_offer(server.state, merchant, **terms)  # type: ignore[arg-type]
    customers = await customer_ids(server.state, index + 1)
    return await accept_offer(server.state, offer, customers[index])


async def test_an_accepted_code_is_redeemed_with_its_amount_benefit_time_and_reference(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    accepted = await _accepted(server, merchant, benefit_value=10)  # 10% off
    before = utcnow()

    redemption = await _redeem(
        server, _principal(server, merchant), accepted.code, "123.45", reference="R-1"
    )

    row = await _row(server, accepted.assignment_id)
    assert row.status == AssignmentStatus.REDEEMED.value
    assert row.redeemed_amount_cents == 12345
    assert row.benefit_cents == 1234  # 10% of 123.45, rounded down to the fen
    assert row.redemption_key == "R-1"
    assert row.redeemed_at is not None
    assert row.redeemed_at >= before
    assert redemption.customer.id == accepted.customer_id
    assert redemption.pseudonym.startswith("cust_")
    assert str(accepted.customer_id) not in redemption.pseudonym


async def test_a_code_typed_in_lower_case_with_spaces_is_the_same_code(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    accepted = await _accepted(server, merchant)
    typed = " " + accepted.code.lower().replace("-", " ") + " "

    redemption = await _redeem(server, _principal(server, merchant), typed)

    assert redemption.assignment.id == accepted.assignment_id


async def test_an_unknown_code_and_another_merchants_code_get_the_same_not_found(
    server: Server, world: World
) -> None:
    mine, theirs = await add_merchant(server.state), await add_merchant(server.state)
    their_code = await _accepted(server, theirs)
    await _accepted(server, mine)

    refusals = []
    for code in (their_code.code, "ABCDE-FGHJK"):
        with pytest.raises(NotFound) as refused:
            await _redeem(server, _principal(server, mine), code)
        refusals.append((refused.value.message, refused.value.field))

    assert refusals[0] == refusals[1]
    assert refusals[0][1] == "code"
    await _assert_untouched(server, their_code)


async def test_a_used_code_is_refused_unless_it_is_the_same_retry(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    principal = _principal(server, merchant)
    accepted = await _accepted(server, merchant)
    first = await _redeem(server, principal, accepted.code, "88.00", reference="till-7/0001")

    again = await _redeem(server, principal, accepted.code, "88.00", reference="till-7/0001")
    assert again.assignment.redeemed_at == first.assignment.redeemed_at
    assert again.assignment.benefit_cents == first.assignment.benefit_cents
    assert again.pseudonym == first.pseudonym

    for amount, reference in (("88.00", "till-7/0002"), ("99.00", "till-7/0001"), ("88.00", None)):
        with pytest.raises(Conflict) as refused:
            await _redeem(server, principal, accepted.code, amount, reference=reference)
        assert (refused.value.field, refused.value.message) == (
            "code",
            "this code has already been redeemed",
        )
    row = await _row(server, accepted.assignment_id)
    assert (row.redeemed_amount_cents, row.redemption_key) == (8800, "till-7/0001")


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ({"status": OfferStatus.PAUSED}, "this offer is paused and cannot be redeemed now"),
        ({"status": OfferStatus.DRAFT}, "this offer is draft and cannot be redeemed now"),
        ({"status": OfferStatus.EXPIRED}, "this offer has expired"),
        ({"ends_at": utcnow() - timedelta(minutes=1)}, "this offer has expired"),
        ({"starts_at": utcnow() + timedelta(days=1)}, "this offer starts at"),
    ],
)
async def test_a_code_of_an_offer_that_is_not_live_is_refused(
    server: Server, world: World, terms: dict[str, object], message: str
) -> None:
    merchant = await add_merchant(server.state)
    offer_terms = {"starts_at": utcnow() - timedelta(days=10), **terms}
    accepted = await _accepted(server, merchant, **offer_terms)

    with pytest.raises(Conflict) as refused:
        await _redeem(server, _principal(server, merchant), accepted.code)

    assert refused.value.field == "code"
    assert refused.value.message.startswith(message)
    await _assert_untouched(server, accepted)


async def test_an_expired_assignment_is_refused(server: Server, world: World) -> None:
    merchant = await add_merchant(server.state)
    accepted = await _accepted(server, merchant)
    async with server.state.database.session() as session:
        row = await session.get(OfferAssignment, accepted.assignment_id)
        assert row is not None
        row.expired_at = utcnow() - timedelta(seconds=1)
        await session.commit()

    with pytest.raises(Conflict) as refused:
        await _redeem(server, _principal(server, merchant), accepted.code)

    assert (refused.value.field, refused.value.message) == ("code", "this code has expired")


async def test_a_purchase_below_the_minimum_spend_is_refused(server: Server, world: World) -> None:
    merchant = await add_merchant(server.state)
    accepted = await _accepted(server, merchant, min_spend_cents=10_000)

    with pytest.raises(BadUserInput) as refused:
        await _redeem(server, _principal(server, merchant), accepted.code, "99.99")

    assert refused.value.field == "amount"
    assert "at least 100.00" in refused.value.message
    await _assert_untouched(server, accepted)
    assert (await _redeem(server, _principal(server, merchant), accepted.code, "100.00")).offer


@pytest.mark.parametrize(
    "amount", ["0", "-1.00", "1.234", "NaN", "-sNaN", "Infinity", "1E+999999", "21474836.48"]
)
async def test_an_amount_that_is_not_a_positive_sum_of_fen_is_refused(
    server: Server, world: World, amount: str
) -> None:
    merchant = await add_merchant(server.state)
    accepted = await _accepted(server, merchant)

    with pytest.raises(BadUserInput) as refused:
        await _redeem(server, _principal(server, merchant), accepted.code, amount)

    assert refused.value.field == "amount"
    await _assert_untouched(server, accepted)


async def test_a_reference_longer_than_128_characters_is_refused(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    accepted = await _accepted(server, merchant)

    with pytest.raises(BadUserInput) as refused:
        await _redeem(server, _principal(server, merchant), accepted.code, reference="x" * 129)

    assert refused.value.field == "reference"


async def test_once_the_quota_is_used_up_further_codes_are_refused(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    principal = _principal(server, merchant)
    offer = await add_offer(server.state, merchant, quota=2)
    customers = await customer_ids(server.state, 3)
    codes = [await accept_offer(server.state, offer, c) for c in customers]

    await _redeem(server, principal, codes[0].code)
    await _redeem(server, principal, codes[1].code)
    with pytest.raises(Conflict) as refused:
        await _redeem(server, principal, codes[2].code)

    assert refused.value.message == "this offer's quota of 2 is used up"
    await _assert_untouched(server, codes[2])


async def test_a_redemption_the_remaining_budget_cannot_cover_is_refused(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    principal = _principal(server, merchant)
    offer = await add_offer(
        server.state,
        merchant,
        benefit_type=BenefitType.AMOUNT_OFF,
        benefit_value=1_000,
        budget_cents=2_400,
    )
    customers = await customer_ids(server.state, 4)
    codes = [await accept_offer(server.state, offer, c) for c in customers]

    await _redeem(server, principal, codes[0].code, "50.00")  # 10.00 off
    await _redeem(server, principal, codes[1].code, "5.00")  # 5.00 off: never more than paid
    with pytest.raises(Conflict) as refused:
        await _redeem(server, principal, codes[2].code, "50.00")  # 15.00 spent + 10.00 > 24.00

    assert refused.value.message == "this offer's remaining budget cannot cover this redemption"
    await _assert_untouched(server, codes[2])
    exact = await _redeem(server, principal, codes[3].code, "9.00")  # 15.00 + 9.00: just fits
    assert exact.assignment.benefit_cents == 900


async def test_two_concurrent_redemptions_of_one_code_redeem_it_exactly_once(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    principal = _principal(server, merchant)
    for round_ in range(5):
        accepted = await _accepted(server, merchant, index=round_)

        results = await asyncio.gather(
            _redeem(server, principal, accepted.code, "10.00", reference=f"a{round_}"),
            _redeem(server, principal, accepted.code, "20.00", reference=f"b{round_}"),
            return_exceptions=True,
        )

        won = [r for r in results if isinstance(r, Redemption)]
        lost = [r for r in results if isinstance(r, DomainError)]
        assert (len(won), len(lost)) == (1, 1), results
        assert isinstance(lost[0], Conflict)
        assert lost[0].field == "code"
        row = await _row(server, accepted.assignment_id)
        assert row.redeemed_amount_cents == won[0].assignment.redeemed_amount_cents


async def test_two_concurrent_retries_of_one_redemption_both_get_the_same_result(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    principal = _principal(server, merchant)
    accepted = await _accepted(server, merchant)

    first, second = await asyncio.gather(
        _redeem(server, principal, accepted.code, "10.00", reference="same"),
        _redeem(server, principal, accepted.code, "10.00", reference="same"),
    )

    assert first.assignment.redeemed_at == second.assignment.redeemed_at


async def test_two_codes_racing_for_the_last_unit_of_quota_redeem_once(
    server: Server, world: World
) -> None:
    merchant = await add_merchant(server.state)
    principal = _principal(server, merchant)
    offer = await add_offer(server.state, merchant, quota=1)
    customers = await customer_ids(server.state, 2)
    codes = [await accept_offer(server.state, offer, c) for c in customers]

    results = await asyncio.gather(
        *(_redeem(server, principal, c.code) for c in codes), return_exceptions=True
    )

    assert sum(isinstance(r, Redemption) for r in results) == 1, results
    refused = [r for r in results if isinstance(r, Conflict)]
    assert [r.message for r in refused] == ["this offer's quota of 1 is used up"]


REDEEM = """
mutation Redeem($input: RedeemOfferInput!) {
  redeemOffer(input: $input) { redemption { pseudonym } userErrors { code message } }
}
"""


async def test_a_merchant_token_without_offers_redeem_cannot_redeem(
    server: Server, world: World
) -> None:
    """``redeemOffer`` declares ``offers:redeem`` (the service trusts its caller to hold it),
    so the refusal comes through the API, before anything is read or written."""
    merchant = await add_merchant(server.state)
    accepted = await _accepted(server, merchant)
    token = merchant_token(server.state, merchant, frozenset({Scope.OFFERS_READ}))

    body = await server.graphql(
        REDEEM, {"input": {"code": accepted.code, "amount": "120.00"}}, token=token
    )

    payload = body["data"]["redeemOffer"]
    assert payload["redemption"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]
    assert "offers:redeem" in payload["userErrors"][0]["message"]
    await _assert_untouched(server, accepted)


async def test_staff_cannot_redeem_even_as_admin(server: Server, world: World) -> None:
    merchant = await add_merchant(server.state)
    accepted = await _accepted(server, merchant)
    admin = server.state.tokens.verify(staff_token(server, world, "demo-admin"))

    with pytest.raises(Forbidden):
        await _redeem(server, admin, accepted.code)

    await _assert_untouched(server, accepted)
