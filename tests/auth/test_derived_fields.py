"""Values computed from a C2 value follow their source's rule (issue 11 item 5).

A card keeps its BIN and last 4 beside the sealed PAN. Each is shown exactly where the
caller's display of the PAN shows it: a role denied the PAN (the marketer) is denied both;
a role that sees the PAN strictly masked (************5671) sees its last 4, not its BIN.
The expected table is written out here, independently of ``auth.policy``.
"""

from __future__ import annotations

import base64

import pytest

from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF, World

ROLES = ("admin", "supervisor", "agent", "marketer", "risk_officer", "auditor", "customer")
BIN, LAST4, DENIED = "622848", "5671", None  # Alice's card 6228480012345671
# Role order as ROLES; the PAN column is issue 2's (BIN + last 4, or last 4, or denied).
EXPECTED: dict[str, tuple[str | None, ...]] = {
    "pan": (
        "622848******5671",
        "622848******5671",
        "************5671",
        DENIED,
        "622848******5671",
        "************5671",
        "************5671",
    ),
    "bin": (BIN, BIN, DENIED, DENIED, BIN, DENIED, DENIED),
    "last4": (LAST4, LAST4, LAST4, DENIED, LAST4, LAST4, LAST4),
}
CARD = "query One($id: ID!) { customer(id: $id) { id cards { id %s } } }"


def _global_id(kind: str, raw: object) -> str:
    return base64.b64encode(f"{kind}:{raw}".encode()).decode()


def _token(server: Server, world: World, role: str) -> str:
    if role == "customer":
        return customer_token(server, world.alice.id)
    return staff_token(server, world, DEMO_STAFF[role])


@pytest.mark.parametrize(("index", "role"), list(enumerate(ROLES)), ids=ROLES)
async def test_given_a_role_then_a_cards_bin_and_last4_show_only_where_its_pan_does(
    server: Server, world: World, index: int, role: str
) -> None:
    alice_id = _global_id("Customer", world.alice.id)

    body = await server.graphql(
        CARD % "pan bin last4", {"id": alice_id}, token=_token(server, world, role)
    )

    (card,) = body["data"]["customer"]["cards"]
    for field, seen in EXPECTED.items():
        assert card[field] == seen[index], (field, body)
    denied = sorted(e["path"][-1] for e in body.get("errors", []))
    assert denied == sorted(field for field, seen in EXPECTED.items() if seen[index] is DENIED)
    assert {e["extensions"]["code"] for e in body.get("errors", [])} <= {"FORBIDDEN"}


async def test_given_a_marketer_then_no_part_of_a_card_number_is_shown(
    server: Server, world: World
) -> None:
    body = await server.graphql(
        CARD % "pan bin last4",
        {"id": _global_id("Customer", world.alice.id)},
        token=staff_token(server, world, DEMO_STAFF["marketer"]),
    )

    (card,) = body["data"]["customer"]["cards"]
    assert (card["pan"], card["bin"], card["last4"]) == (None, None, None)
    assert sorted(e["path"][-1] for e in body["errors"]) == ["bin", "last4", "pan"]
