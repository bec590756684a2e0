"""A customer's preferred channel is free text for a 16-character column: a longer one is
BAD_USER_INPUT naming the field, never a database error, and nothing is written."""

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
    customer { id consent { preferredChannel } }
    userErrors { field code message }
  }
}
"""
_rng = random.Random(16)


def _new_customer(preferred_channel: str) -> dict[str, Any]:
    born = datetime.date(1975, 1, 1) + datetime.timedelta(days=_rng.randrange(9000))
    return {
        "name": "渠道测试",
        "birthDate": born.isoformat(),
        "idNumber": generate_national_id(_rng, born),
        "phone": generate_mobile(_rng),
        "consent": {"sms": True, "preferredChannel": preferred_channel},
    }


async def test_a_preferred_channel_of_16_characters_is_kept(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-agent")
    body = await server.graphql(CREATE, {"input": _new_customer("wechat-official1")}, token=token)
    payload = body["data"]["createCustomer"]
    assert payload["userErrors"] == []
    assert payload["customer"]["consent"] == {"preferredChannel": "wechat-official1"}


async def test_a_longer_preferred_channel_is_refused_naming_it_and_nothing_is_written(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    before = await customer_count(server.state)
    body = await server.graphql(CREATE, {"input": _new_customer("x" * 17)}, token=token)
    assert "errors" not in body, body
    payload = body["data"]["createCustomer"]
    assert payload["customer"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("BAD_USER_INPUT", "consent.preferredChannel")
    ]
    assert await customer_count(server.state) == before
