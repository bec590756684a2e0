"""A customer's tags are bounded: at most 20, each 1 to 32 letters (any script), digits 0-9,
``-``, ``_`` or ``:`` (issue 11, item 7). Anything else is BAD_USER_INPUT naming the field,
on create and on update, and nothing is written."""

from __future__ import annotations

import datetime
import random
from typing import Any

from models.customers.identifiers import generate_mobile, generate_national_id
from tests.conftest import Server, staff_token
from tests.support import World, customer_count

CREATE = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer { id version tags }
    userErrors { field code message }
  }
}
"""
UPDATE = """
mutation Update($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    customer { id version tags }
    userErrors { field code message }
  }
}
"""
ONE_CUSTOMER = "query One($id: ID!) { customer(id: $id) { version tags } }"
TWENTY_TAGS = [f"tag-{i:02d}:{'x' * 25}" for i in range(20)]  # 32 characters each
_rng = random.Random(11)


def _new_customer(tags: list[str]) -> dict[str, Any]:
    born = datetime.date(1980, 1, 1) + datetime.timedelta(days=_rng.randrange(8000))
    return {
        "name": "标签测试",
        "birthDate": born.isoformat(),
        "idNumber": generate_national_id(_rng, born),
        "phone": generate_mobile(_rng),
        "tags": tags,
    }


async def _create(server: Server, token: str, tags: list[str]) -> dict[str, Any]:
    body = await server.graphql(CREATE, {"input": _new_customer(tags)}, token=token)
    payload: dict[str, Any] = body["data"]["createCustomer"]
    return payload


def _refusal(payload: dict[str, Any]) -> tuple[str, str]:
    assert payload["customer"] is None, payload
    (error,) = payload["userErrors"]
    return error["code"], error["field"]


async def test_twenty_tags_of_32_characters_from_the_character_set_are_kept(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    payload = await _create(server, token, TWENTY_TAGS)
    assert payload["userErrors"] == []
    assert payload["customer"]["tags"] == TWENTY_TAGS


async def test_letters_of_any_script_digits_and_three_punctuation_marks_are_tags(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    payload = await _create(server, token, ["高净值", "vip", "campaign:2024", "ｖｉｐ", "a_b-c"])
    assert payload["userErrors"] == []
    # NFKC makes the full-width "ｖｉｐ" the ASCII one, which is kept once
    assert payload["customer"]["tags"] == ["高净值", "vip", "campaign:2024", "a_b-c"]


async def test_a_900_kilobyte_tag_is_refused_and_nothing_is_written(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    before = await customer_count(server.state)
    payload = await _create(server, token, ["ok", "x" * 900_000])
    assert _refusal(payload) == ("BAD_USER_INPUT", "tags[1]")
    assert "at most 32 characters" in payload["userErrors"][0]["message"]
    assert await customer_count(server.state) == before


async def test_eight_thousand_tags_of_100_characters_are_refused(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    before = await customer_count(server.state)
    payload = await _create(server, token, [f"{i:04d}" + "t" * 96 for i in range(8000)])
    assert _refusal(payload) == ("BAD_USER_INPUT", "tags")
    assert "at most 20 tags" in payload["userErrors"][0]["message"]
    assert await customer_count(server.state) == before


async def test_a_21st_tag_a_33rd_character_or_a_character_outside_the_set_is_refused(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    cases = {
        "tags": [*TWENTY_TAGS, "one-more"],
        "tags[0]": ["x" * 33],
        "tags[2]": ["vip", "gold", "two words"],
        "tags[1]": ["vip", "<script>"],
        "tags[3]": ["a", "b", "c", "🙂"],
        "tags[4]": ["a", "b", "c", "d", "   "],
        "tags[5]": ["a", "b", "c", "d", "e", "tab\there"],
    }
    for field, tags in cases.items():
        assert _refusal(await _create(server, token, tags)) == ("BAD_USER_INPUT", field), tags


async def test_an_update_with_a_bad_tag_is_refused_and_leaves_the_customer_as_it_was(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    created = (await _create(server, token, ["vip"]))["customer"]
    for tags, field in ((["y" * 100_000], "tags[0]"), ([*TWENTY_TAGS, "x"], "tags")):
        change = {"id": created["id"], "version": created["version"], "tags": tags}
        body = await server.graphql(UPDATE, {"input": change}, token=token)
        assert _refusal(body["data"]["updateCustomer"]) == ("BAD_USER_INPUT", field)
    body = await server.graphql(ONE_CUSTOMER, {"id": created["id"]}, token=token)
    assert body["data"]["customer"] == {"version": created["version"], "tags": ["vip"]}

    change = {"id": created["id"], "version": created["version"], "tags": ["vip", "高净值"]}
    body = await server.graphql(UPDATE, {"input": change}, token=token)
    assert body["data"]["updateCustomer"]["customer"]["tags"] == ["vip", "高净值"]


async def test_a_tag_holding_a_phone_id_or_card_number_is_refused(
    server: Server, world: World
) -> None:
    """Tags are shown in clear to every role that sees the customer: they must not carry a
    value the policy masks, however it is grouped or written."""
    token = staff_token(server, world, "demo-agent")
    before = await customer_count(server.state)
    for tags in (
        ["vip", "15160127961"],
        ["vip", "phone:151-6012-7961"],
        ["vip", "id_11010119900307123X"],
        ["vip", "６２２８４８００００００１２３４"],
        ["vip", "幺五幺六〇幺二七九六幺"],
    ):
        assert _refusal(await _create(server, token, tags)) == ("BAD_USER_INPUT", "tags[1]"), tags
    assert await customer_count(server.state) == before
