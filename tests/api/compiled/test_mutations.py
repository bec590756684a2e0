"""Mutations on the compiled executor (``api.compiled.mutation``): W3's redemption is run once
by its compiled plan, with the standard executor's answer; a caller refused it gets the same
refusal payload from the plan; a payload holding a field the caller may not see is
completed by graphql-core after the one write, with its errors where the standard executor
puts them; a mutation of two root fields runs on the standard executor."""

from __future__ import annotations

import logging
import random
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from bench.workloads import document, w3_variables
from models.customers.identifiers import national_id_check_char
from models.events.outbox import OutboxEvent
from models.growth.offer import AssignmentStatus, OfferAssignment
from schema.relay import to_global_id
from tests.api.compiled.test_both_executors import _answered, _both, _without_request_ids
from tests.api.test_observability import _request_lines
from tests.conftest import Server
from tests.support import World, customer_count
from tests.support_offers import Accepted, accept_offer, add_merchant, add_offer, merchant_token

W3 = document("W3")


async def _codes(server: Server, world: World, count: int) -> tuple[str, list[Accepted]]:
    """A merchant's token and ``count`` accepted codes of Alice's, one per offer."""
    merchant = await add_merchant(server.state, "编译商户")
    accepted = []
    for i in range(count):
        offer = await add_offer(server.state, merchant, title=f"编译优惠 {i}")
        accepted.append(await accept_offer(server.state, offer, world.alice.id))
    return merchant_token(server.state, merchant), accepted


async def _redeemed_events(server: Server, assignment_id: uuid.UUID) -> int:
    wanted = to_global_id("OfferAssignment", assignment_id)
    async with server.state.database.session() as session:
        events = await session.scalars(
            select(OutboxEvent).where(col(OutboxEvent.type) == "offer.redeemed")
        )
        return sum(1 for event in events if event.payload.get("assignmentId") == wanted)


async def _status(server: Server, assignment_id: uuid.UUID) -> str:
    async with server.state.database.session() as session:
        row = await session.get(OfferAssignment, assignment_id)
        assert row is not None
        return row.status


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    """The redemption without what differs between two redemptions (time, offer, reference)."""
    redemption = dict(body["data"]["redeemOffer"]["redemption"])
    for key in ("redeemedAt", "offer", "reference"):
        redemption.pop(key)
    return redemption


async def test_a_redemption_is_run_once_by_its_compiled_plan_with_the_standard_answer(
    server: Server, standard: Server, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cardcrm.request")
    token, (compiled_code, standard_code) = await _codes(server, world, 2)
    request_id = f"redeem-{uuid.uuid4().hex[:12]}"

    compiled = await server.post(
        W3,
        w3_variables(compiled_code.code, reference="compiled-1"),
        token=token,
        headers={"X-Request-ID": request_id},
    )
    reference = await standard.post(
        W3, w3_variables(standard_code.code, reference="standard-1"), token=token
    )

    (line,) = _request_lines(caplog, request_id)
    assert line["executor"] == "compiled"
    body = compiled.json()
    payload = body["data"]["redeemOffer"]
    assert payload["userErrors"] == [], body
    assert payload["redemption"]["reference"] == "compiled-1"
    assert payload["redemption"]["offer"]["title"] == "编译优惠 0"
    assert payload["redemption"]["customerName"] == "张*丰"  # masked for the merchant
    assert _comparable(body) == _comparable(reference.json())
    assert list(payload["redemption"]) == list(
        reference.json()["data"]["redeemOffer"]["redemption"]
    )
    # written once: redeemed, and one event in the outbox
    assert await _status(server, compiled_code.assignment_id) == AssignmentStatus.REDEEMED.value
    assert await _redeemed_events(server, compiled_code.assignment_id) == 1


async def test_a_caller_refused_the_mutation_gets_its_refusal_payload_from_the_plan(
    server: Server, standard: Server, world: World, tokens: dict[str, str]
) -> None:
    _, (accepted,) = await _codes(server, world, 1)
    variables = w3_variables(accepted.code, reference="refused")

    compiled, reference, executor = await _both(server, standard, W3, variables, tokens["agent"])

    assert executor == "compiled"
    assert compiled == reference
    assert compiled["data"]["redeemOffer"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert await _status(server, accepted.assignment_id) == AssignmentStatus.ACCEPTED.value


async def test_a_payload_with_a_field_the_admin_may_not_see_is_completed_as_the_standard_one(
    server: Server, standard: Server, world: World, tokens: dict[str, str]
) -> None:
    """The admin may not see a redemption's customer name, and the service refuses staff:
    graphql-core completes the refusal payload, as on the standard executor; nothing is
    written."""
    _, (accepted,) = await _codes(server, world, 1)
    variables = w3_variables(accepted.code)

    compiled, reference, executor = await _both(server, standard, W3, variables, tokens["admin"])

    assert executor == "compiled"
    assert compiled == reference
    assert compiled["data"]["redeemOffer"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert await _status(server, accepted.assignment_id) == AssignmentStatus.ACCEPTED.value


def _new_customer() -> dict[str, Any]:
    """A valid customer no other test makes (a random birth date, sequence and phone)."""
    rng = random.Random()
    first17 = (
        f"110101{rng.randint(1960, 1999)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        f"{rng.randint(0, 999):03d}"
    )
    return {
        "name": "编译测试",
        "birthDate": f"{first17[6:10]}-{first17[10:12]}-{first17[12:14]}",
        "idNumber": first17 + national_id_check_char(first17),
        "phone": f"139{rng.randint(0, 99_999_999):08d}",
    }


CREATE = """mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer { name riskGrade lifecycleStage }
    userErrors { code message }
  }
}"""


async def test_a_written_payload_with_a_field_the_caller_may_not_see_gets_its_error_at_its_path(
    server: Server, standard: Server, world: World, tokens: dict[str, str]
) -> None:
    """An agent creates a customer and asks for its risk grade, which agents may not see:
    the customer is written once, and the payload comes back as graphql-core completes it
    (the grade null, FORBIDDEN at its path), the same as from the standard executor."""
    before_count = await customer_count(server.state)

    compiled, executor = await _answered(
        server, CREATE, {"input": _new_customer()}, tokens["agent"]
    )
    reference = await standard.post(CREATE, {"input": _new_customer()}, token=tokens["agent"])

    assert executor == "compiled"
    body = compiled.json()
    assert body["data"]["createCustomer"]["customer"]["riskGrade"] is None, body
    assert body["data"]["createCustomer"]["userErrors"] == []
    (error,) = body["errors"]
    assert error["path"] == ["createCustomer", "customer", "riskGrade"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert _without_request_ids(body) == _without_request_ids(reference.json())
    assert await customer_count(server.state) == before_count + 2  # one each, none twice


async def test_a_mutation_of_two_root_fields_runs_on_the_standard_executor_one_after_another(
    server: Server, world: World
) -> None:
    token, (first, second) = await _codes(server, world, 2)
    both = """mutation Two($a: RedeemOfferInput!, $b: RedeemOfferInput!) {
      a: redeemOffer(input: $a) { redemption { reference } userErrors { code } }
      b: redeemOffer(input: $b) { redemption { reference } userErrors { code } }
    }"""
    variables = {
        "a": w3_variables(first.code, reference="two-a")["input"],
        "b": w3_variables(second.code, reference="two-b")["input"],
    }

    answered, executor = await _answered(server, both, variables, token)

    assert executor == "standard"
    body = answered.json()
    assert body["data"]["a"]["redemption"]["reference"] == "two-a"
    assert body["data"]["b"]["redemption"]["reference"] == "two-b"
    async with server.state.database.session() as session:
        redeemed = await session.scalar(
            select(func.count())
            .select_from(OfferAssignment)
            .where(
                col(OfferAssignment.id).in_([first.assignment_id, second.assignment_id]),
                col(OfferAssignment.status) == AssignmentStatus.REDEEMED.value,
            )
        )
    assert redeemed == 2
