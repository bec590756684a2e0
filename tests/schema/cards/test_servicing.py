"""Card servicing over HTTP: the workflow per role, replacement cards, history, audit,
versions, replays, and the statements a page of customers → cards → history costs."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from models.audit.audit import AuditEntry
from models.cards.card import Card
from models.cards.history import CardEvent
from models.customers.identifiers import luhn_valid
from models.sealing import open_field
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.support import World, add_customer, add_oauth_client, client_credentials_token

CARD_FIELDS = """
  id status version activatedAt pan last4 allowedActions
  history { action fromStatus toStatus actorKind reason }
  replaces { id } replacedBy { id status pan }
"""
ACTION = """
mutation Act($input: CardActionInput!) {{
  {name}(input: $input) {{ card {{ {fields} }} userErrors {{ field code message }} }}
}}
"""
REPORT = f"""
mutation Report($input: ReportCardLostInput!) {{
  reportCardLost(input: $input) {{
    card {{ {CARD_FIELDS} }}
    replacement {{ {CARD_FIELDS} }}
    userErrors {{ field code message }}
  }}
}}
"""
ONE = f"query One($id: ID!) {{ node(id: $id) {{ ... on Card {{ {CARD_FIELDS} }} }} }}"


def _payload(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    result: dict[str, Any] = payload
    return result


async def _card_of(server: Server, customer_id: uuid.UUID) -> Card:
    async with server.state.database.session() as session:
        return (await session.scalars(select(Card).where(Card.customer_id == customer_id))).one()


async def _new_card(server: Server, world: World, branch: str = "BJ-CY") -> tuple[str, uuid.UUID]:
    """A fresh customer's ISSUED card: its global ID and the customer's id."""
    customer_id = await add_customer(server.state, world, branch=branch)
    card = await _card_of(server, customer_id)
    return to_global_id("Card", card.id), customer_id


async def _act(
    server: Server,
    name: str,
    card_id: str,
    version: int,
    token: str,
    reason: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    query = ACTION.format(name=name, fields=CARD_FIELDS)
    variables = {"input": {"cardId": card_id, "version": version, "reason": reason}}
    return _payload(await server.graphql(query, variables, token=token, headers=headers))


async def _ok(server: Server, name: str, card_id: str, version: int, token: str) -> dict[str, Any]:
    payload = await _act(server, name, card_id, version, token)
    assert payload["userErrors"] == [], payload
    card: dict[str, Any] = payload["card"]
    return card


def _code(payload: dict[str, Any]) -> str:
    assert payload["card"] is None, payload
    code: str = payload["userErrors"][0]["code"]
    return code


async def _merchant_token(server: Server) -> str:
    credentials = await add_oauth_client(
        server.state, scopes="offers:read offers:redeem", merchant=f"m-{uuid.uuid4().hex[:6]}"
    )
    return await client_credentials_token(server.client, credentials)


async def test_a_customer_runs_their_card_through_the_workflow_with_every_step_in_history(
    server: Server, world: World
) -> None:
    card_id, customer_id = await _new_card(server, world)
    token = customer_token(server, customer_id)

    active = await _ok(server, "activateCard", card_id, 1, token)
    assert (active["status"], active["version"]) == ("ACTIVATED", 2)
    assert active["activatedAt"] is not None
    assert active["allowedActions"] == ["FREEZE", "REPORT_LOST", "REPORT_STOLEN", "CLOSE"]
    frozen = await _ok(server, "freezeCard", card_id, 2, token)
    assert frozen["allowedActions"] == ["UNFREEZE", "REPORT_LOST", "REPORT_STOLEN", "CLOSE"]
    again = await _ok(server, "unfreezeCard", card_id, 3, token)

    assert again["status"] == "ACTIVATED"
    assert [
        (h["action"], h["fromStatus"], h["toStatus"], h["actorKind"]) for h in again["history"]
    ] == [
        ("UNFREEZE", "FROZEN", "ACTIVATED", "customer"),
        ("FREEZE", "ACTIVATED", "FROZEN", "customer"),
        ("ACTIVATE", "ISSUED", "ACTIVATED", "customer"),
    ]


async def test_staff_close_a_card_of_their_branch_and_a_customer_may_not(
    server: Server, world: World
) -> None:
    card_id, customer_id = await _new_card(server, world)

    refused = await _act(server, "closeCard", card_id, 1, customer_token(server, customer_id))
    assert _code(refused) == "FORBIDDEN"
    closed = await _act(
        server, "closeCard", card_id, 1, staff_token(server, world, "demo-agent"), "客户要求销卡"
    )

    assert closed["userErrors"] == [], closed
    assert (closed["card"]["status"], closed["card"]["allowedActions"]) == ("CLOSED", [])
    assert closed["card"]["history"][0]["reason"] == "客户要求销卡"


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ("customer", None),
        ("other_customer", "NOT_FOUND"),
        ("demo-agent", None),
        ("demo-agent-b", "NOT_FOUND"),
        ("demo-supervisor", None),
        ("demo-admin", None),
        ("demo-marketer", "FORBIDDEN"),
        ("demo-risk", "FORBIDDEN"),
        ("demo-auditor", "FORBIDDEN"),
        ("merchant", "FORBIDDEN"),
    ],
)
async def test_who_may_activate_and_freeze_a_card_of_branch_a(
    server: Server, world: World, caller: str, expected: str | None
) -> None:
    card_id, customer_id = await _new_card(server, world, branch="BJ-CY")
    if caller == "customer":
        token = customer_token(server, customer_id)
    elif caller == "other_customer":
        token = customer_token(server, world.bob.id)
    elif caller == "merchant":
        token = await _merchant_token(server)
    else:
        token = staff_token(server, world, caller)

    activated = await _act(server, "activateCard", card_id, 1, token)
    if expected is None:
        assert activated["userErrors"] == [], activated
        frozen = await _ok(server, "freezeCard", card_id, 2, token)
        assert frozen["status"] == "FROZEN"
    else:
        assert _code(activated) == expected
        assert (await _card_of(server, customer_id)).status == "issued"  # nothing written


async def test_a_risk_officer_reads_a_cards_history_but_marketers_do_not(
    server: Server, world: World
) -> None:
    card_id, customer_id = await _new_card(server, world)
    await _ok(server, "activateCard", card_id, 1, customer_token(server, customer_id))
    await _act(
        server, "freezeCard", card_id, 2, staff_token(server, world, "demo-agent"), "可疑交易"
    )

    risk = await server.graphql(ONE, {"id": card_id}, token=staff_token(server, world, "demo-risk"))
    assert "errors" not in risk, risk
    assert risk["data"]["node"]["history"][0]["reason"] == "可疑交易"
    assert risk["data"]["node"]["allowedActions"][0] == "UNFREEZE"
    auditor = await server.graphql(
        ONE, {"id": card_id}, token=staff_token(server, world, "demo-auditor")
    )
    assert auditor["data"]["node"]["history"][0]["reason"] == "******"  # masked for oversight
    marketer = await server.graphql(
        ONE, {"id": card_id}, token=staff_token(server, world, "demo-marketer")
    )
    assert marketer["data"]["node"]["history"] is None
    assert marketer["data"]["node"]["allowedActions"] is None
    assert {error["extensions"]["code"] for error in marketer["errors"]} == {"FORBIDDEN"}


async def test_a_card_reported_stolen_is_blocked_and_replaced_by_a_new_number(
    server: Server, world: World
) -> None:
    card_id, customer_id = await _new_card(server, world)
    old = await _card_of(server, customer_id)
    old_pan = open_field(server.state.key_ring, old, "pan")
    assert old_pan is not None
    token = customer_token(server, customer_id)
    await _ok(server, "activateCard", card_id, 1, token)

    body = await server.graphql(
        REPORT,
        {"input": {"cardId": card_id, "version": 2, "stolen": True, "reason": "地铁上被偷"}},
        token=token,
    )

    payload = _payload(body)
    assert payload["userErrors"] == [], payload
    blocked, replacement = payload["card"], payload["replacement"]
    assert (blocked["status"], blocked["allowedActions"]) == ("BLOCKED", [])
    assert blocked["replacedBy"]["id"] == replacement["id"]
    assert replacement["replaces"]["id"] == card_id
    assert (replacement["status"], replacement["version"]) == ("ISSUED", 1)
    assert replacement["history"] == [
        {
            "action": "ISSUE",
            "fromStatus": None,
            "toStatus": "ISSUED",
            "actorKind": "customer",
            "reason": None,
        }
    ]
    assert blocked["history"][0]["action"] == "REPORT_STOLEN"
    assert blocked["history"][0]["reason"] == "地铁上被偷"
    # The customer sees both numbers strictly masked: last 4 only.
    assert blocked["pan"] == "*" * 12 + old_pan[-4:]
    assert replacement["pan"].startswith("*" * 12)
    async with server.state.database.session() as session:
        new_row = (await session.scalars(select(Card).where(Card.replaces_id == old.id))).one()
    new_pan = open_field(server.state.key_ring, new_row, "pan")
    assert new_pan is not None
    assert new_pan != old_pan
    assert new_pan[:6] == old_pan[:6]
    assert replacement["last4"] == new_pan[-4:]
    assert luhn_valid(new_pan)
    assert new_row.pan_bidx == server.state.key_ring.blind_index("pan", new_pan)
    # A supervisor sees the replacement's BIN, the rest masked.
    supervisor = await server.graphql(
        ONE, {"id": replacement["id"]}, token=staff_token(server, world, "demo-supervisor")
    )
    assert supervisor["data"]["node"]["pan"] == new_pan[:6] + "******" + new_pan[-4:]
    # The replacement is the customer's to activate.
    assert (await _ok(server, "activateCard", replacement["id"], 1, token))["status"] == "ACTIVATED"


async def test_every_change_writes_its_history_row_and_audit_entry(
    server: Server, world: World
) -> None:
    card_id, customer_id = await _new_card(server, world)
    card = await _card_of(server, customer_id)
    agent = world.staff["demo-agent"]
    token = staff_token(server, world, "demo-agent")

    await _ok(server, "activateCard", card_id, 1, token)
    lost = _payload(
        await server.graphql(REPORT, {"input": {"cardId": card_id, "version": 2}}, token=token)
    )

    assert lost["userErrors"] == [], lost
    replacement_id = str((await _card_of_replacement(server, card.id)).id)
    async with server.state.database.session() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry)
                .where(col(AuditEntry.target_id).in_([str(card.id), replacement_id]))
                .order_by(col(AuditEntry.seq))
            )
        )
        history = list(await session.scalars(select(CardEvent).where(CardEvent.card_id == card.id)))
    assert [(e.action, e.actor_id, e.target_id) for e in entries] == [
        ("card.activate", str(agent.id), str(card.id)),
        ("card.report_lost", str(agent.id), str(card.id)),
        ("card.issue", str(agent.id), replacement_id),
    ]
    assert entries[1].details["to"] == "blocked"
    assert sorted(h.action for h in history) == ["activate", "report_lost"]
    assert all(h.reason_enc is None for h in history)


async def _card_of_replacement(server: Server, old_id: uuid.UUID) -> Card:
    async with server.state.database.session() as session:
        return (await session.scalars(select(Card).where(Card.replaces_id == old_id))).one()


async def test_a_stale_version_and_a_refused_move_are_conflicts_that_write_nothing(
    server: Server, world: World
) -> None:
    card_id, customer_id = await _new_card(server, world)
    token = customer_token(server, customer_id)

    stale = await _act(server, "activateCard", card_id, 7, token)
    refused = await _act(server, "freezeCard", card_id, 1, token)

    assert _code(stale) == "CONFLICT"
    assert stale["userErrors"][0]["field"] == "version"
    assert _code(refused) == "CONFLICT"
    assert refused["userErrors"][0]["message"] == (
        "cannot freeze a card that is issued; allowed next: activate, report_lost, "
        "report_stolen, close"
    )
    card = await _card_of(server, customer_id)
    assert (card.status, card.version) == ("issued", 1)
    async with server.state.database.session() as session:
        assert (
            list(await session.scalars(select(CardEvent).where(CardEvent.card_id == card.id))) == []
        )


async def test_a_blocked_card_is_terminal(server: Server, world: World) -> None:
    card_id, _ = await _new_card(server, world)
    token = staff_token(server, world, "demo-supervisor")
    body = await server.graphql(REPORT, {"input": {"cardId": card_id, "version": 1}}, token=token)
    assert _payload(body)["userErrors"] == []

    closing = await _act(server, "closeCard", card_id, 2, token)

    assert _code(closing) == "CONFLICT"
    assert closing["userErrors"][0]["message"].endswith("allowed next: none")


async def test_a_replayed_idempotency_key_activates_once(server: Server, world: World) -> None:
    card_id, customer_id = await _new_card(server, world)
    token = customer_token(server, customer_id)
    query = ACTION.format(name="activateCard", fields="id status version")
    variables = {"input": {"cardId": card_id, "version": 1}}
    key = str(uuid.uuid4())

    first = await server.post(query, variables, token=token, headers={"Idempotency-Key": key})
    again = await server.post(query, variables, token=token, headers={"Idempotency-Key": key})

    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["data"]["activateCard"]["card"]["version"] == 2
    card = await _card_of(server, customer_id)
    async with server.state.database.session() as session:
        events = list(await session.scalars(select(CardEvent).where(CardEvent.card_id == card.id)))
    assert (card.version, len(events)) == (2, 1)


async def test_a_bad_card_id_is_bad_user_input(server: Server, world: World) -> None:
    payload = await _act(
        server,
        "activateCard",
        to_global_id("Customer", world.alice.id),
        1,
        customer_token(server, world.alice.id),
    )
    assert _code(payload) == "BAD_USER_INPUT"


PAGE = """
query Page($first: Int) {
  customers(first: $first) {
    edges { node { id cards { id status allowedActions history(first: 3) { action reason }
      replacedBy { id } replaces { id } } } }
  }
}
"""


async def test_a_page_of_customers_cards_and_histories_costs_the_same_few_statements(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    await server.graphql(PAGE, {"first": 2}, token=token)  # warm caches

    _, few = await server.count_statements(PAGE, {"first": 2}, token=token)
    many, many_statements = await server.count_statements(PAGE, {"first": 10}, token=token)

    assert "errors" not in many, many
    assert len(many["data"]["customers"]["edges"]) == 10
    assert many_statements == few, (few, many_statements)
