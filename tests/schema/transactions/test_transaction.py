"""``ingestTransactions`` over HTTP: only service accounts (and admins) write, a batch over the
limit writes nothing, a repeated call writes nothing twice, and the statement count does not
grow with the batch. Every test writes only on cards of customers it creates."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from core.identity import Role, Scope
from models.cards.card import Card
from models.sealing import open_field
from models.transactions.transaction import Transaction
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.support import World, add_customer, add_oauth_client, client_credentials_token

INGEST = """
mutation Ingest($input: IngestTransactionsInput!) {
  ingestTransactions(input: $input) {
    imported duplicates
    rejected { index reason }
    userErrors { field code message }
  }
}
"""


@pytest.fixture(scope="module")
async def feed(server: Server) -> str:
    """The client id of a registered service account allowed `transactions:write`."""
    credentials = await add_oauth_client(server.state, scopes="transactions:write", name="feed")
    return credentials.client.client_id


def service_token(server: Server, client_id: str, scopes: frozenset[Scope] | None = None) -> str:
    return server.state.tokens.issue(
        subject=client_id, role=Role.SERVICE, client_id=client_id, scopes=scopes
    )


async def new_card(server: Server, world: World) -> tuple[uuid.UUID, str, uuid.UUID]:
    """A new customer's card: its id, its PAN and the customer's id."""
    customer_id = await add_customer(server.state, world, active=True)
    async with server.state.database.session() as session:
        card = (await session.scalars(select(Card).where(Card.customer_id == customer_id))).one()
    pan = open_field(server.state.key_ring, card, "pan")
    assert pan is not None
    return card.id, pan, customer_id


async def stored_count(server: Server, card_id: uuid.UUID) -> int:
    async with server.state.database.session() as session:
        query = select(func.count()).where(col(Transaction.card_id) == card_id)
        return int(await session.scalar(query) or 0)


def transaction(card_id: uuid.UUID | None = None, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "cardId": to_global_id("Card", card_id) if card_id else None,
        "amount": "128.00",
        "merchant": "海底捞火锅",
        "merchantCategory": "dining",
        "channel": "pos",
        "time": "2025-10-01T19:30:00+08:00",
    }
    row.update(fields)
    return row


async def ingest(server: Server, token: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    body = await server.graphql(INGEST, {"input": {"transactions": rows}}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["ingestTransactions"]
    return payload


async def test_a_service_account_ingests_by_card_id_or_pan_and_a_repeat_writes_nothing_twice(
    server: Server, world: World, feed: str
) -> None:
    card_id, pan, _ = await new_card(server, world)
    rows = [
        transaction(card_id, reference="NET-1"),
        transaction(cardId=str(card_id), amount="12.5", merchantCategory="GROCERY"),
        transaction(pan=pan, amount="3000", merchantCategory="travel", channel="online"),
    ]
    first = await ingest(server, service_token(server, feed), rows)
    again = await ingest(server, service_token(server, feed), rows)
    assert first == {"imported": 3, "duplicates": 0, "rejected": [], "userErrors": []}
    assert again == {"imported": 0, "duplicates": 3, "rejected": [], "userErrors": []}
    assert await stored_count(server, card_id) == 3


async def test_bad_rows_are_refused_by_index_and_the_good_ones_are_stored(
    server: Server, world: World, feed: str
) -> None:
    card_id, _, _ = await new_card(server, world)
    rows = [
        transaction(card_id, amount="-1"),
        transaction(card_id, reference="OK-1"),
        transaction(card_id, time="2025-10-01T19:30:00"),
        transaction(cardId=to_global_id("Card", uuid.uuid4())),
        transaction(card_id, merchantCategory="casino"),
        transaction(card_id, reference="OK-2"),
    ]
    payload = await ingest(server, service_token(server, feed), rows)
    assert (payload["imported"], payload["duplicates"], payload["userErrors"]) == (2, 0, [])
    assert [r["index"] for r in payload["rejected"]] == [0, 2, 3, 4]
    reasons = [r["reason"] for r in payload["rejected"]]
    assert "amount must be positive" in reasons[0]
    assert "time must carry a UTC offset" in reasons[1]
    assert "names no card" in reasons[2]
    assert "merchant_category 'casino' is not one of" in reasons[3]
    assert await stored_count(server, card_id) == 2


async def test_a_token_from_the_token_endpoint_ingests(server: Server, world: World) -> None:
    credentials = await add_oauth_client(server.state, scopes="transactions:write", name="batch")
    token = await client_credentials_token(server.client, credentials, "transactions:write")
    card_id, _, _ = await new_card(server, world)
    payload = await ingest(server, token, [transaction(card_id)])
    assert (payload["imported"], payload["userErrors"]) == (1, [])


async def test_an_admin_may_ingest_too(server: Server, world: World) -> None:
    card_id, _, _ = await new_card(server, world)
    payload = await ingest(server, staff_token(server, world, "demo-admin"), [transaction(card_id)])
    assert payload["imported"] == 1


async def test_staff_customers_merchants_and_unscoped_services_are_forbidden(
    server: Server, world: World, feed: str
) -> None:
    card_id, _, customer_id = await new_card(server, world)
    tokens = {
        username: staff_token(server, world, username)
        for username in ("demo-supervisor", "demo-agent", "demo-marketer", "demo-risk")
    }
    tokens["demo-auditor"] = staff_token(server, world, "demo-auditor")
    tokens["customer"] = customer_token(server, customer_id)
    partner = await add_oauth_client(
        server.state, scopes="offers:read offers:redeem", merchant=f"partner {uuid.uuid4()}"
    )
    tokens["merchant"] = await client_credentials_token(server.client, partner)
    tokens["service without the scope"] = service_token(server, feed, scopes=frozenset())
    tokens["admin without the scope"] = staff_token(
        server, world, "demo-admin", scopes=frozenset({Scope.CUSTOMERS_READ})
    )
    for who, token in tokens.items():
        payload = await ingest(server, token, [transaction(card_id)])
        assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"], who
        assert payload["imported"] == 0, who
    assert await stored_count(server, card_id) == 0


async def test_a_batch_over_the_limit_is_refused_and_nothing_is_written(
    server: Server, world: World, feed: str
) -> None:
    card_id, _, _ = await new_card(server, world)
    limit = server.state.settings.ingest_max_rows
    rows = [transaction(card_id, reference=f"OVER-{n}") for n in range(limit + 1)]
    payload = await ingest(server, service_token(server, feed), rows)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("BAD_USER_INPUT", "transactions")
    ]
    assert f"at most {limit}" in payload["userErrors"][0]["message"]
    assert await stored_count(server, card_id) == 0


async def test_a_full_batch_takes_one_card_lookup_and_a_few_inserts_whatever_its_cards(
    server: Server, world: World, feed: str
) -> None:
    card_id, pan, _ = await new_card(server, world)
    limit = server.state.settings.ingest_max_rows
    one = {"input": {"transactions": [transaction(card_id, reference="ONE")]}}
    full = {
        "input": {
            "transactions": [
                transaction(card_id, reference=f"FULL-{n}")
                if n % 2
                else transaction(pan=pan, reference=f"FULL-{n}")
                for n in range(limit)
            ]
        }
    }
    single, single_count = await server.count_statements(
        INGEST, one, token=service_token(server, feed)
    )
    batch, batch_count = await server.count_statements(
        INGEST, full, token=service_token(server, feed)
    )
    assert single["data"]["ingestTransactions"]["imported"] == 1
    assert batch["data"]["ingestTransactions"]["imported"] == limit
    # One lookup for all 1,000 cards named (ids and PANs); the rows go in as 512 + 256 + 128 +
    # 64 + 32 + 8: six inserts where the single row took one. A thousand purchases on one card
    # also raise a velocity alert, whose outbox event costs a read and an insert
    # (resolvers/risk/alert_outbox.py), and on PostgreSQL the outbox's order lock.
    alert_event = 2 if server.state.database.is_sqlite else 3
    assert batch_count == single_count + 5 + alert_event
    # the client's revocation check, the card lookup, the insert; then the batch effects
    # (resolvers/batch_effects.py): the points earn insert, and the risk rules (the velocity
    # rule's one statement here, and on PostgreSQL their JIT switched off)
    assert single_count <= 6
    assert await stored_count(server, card_id) == limit + 1


async def test_a_service_account_sends_repayments_with_their_kind_once(
    server: Server, world: World, feed: str
) -> None:
    card_id, _, _ = await new_card(server, world)
    token = service_token(server, feed)
    rows = [
        transaction(card_id),
        transaction(card_id, kind="repayment", merchant="招商银行", merchantCategory="other"),
        transaction(card_id, kind="refund"),
    ]
    first = await ingest(server, token, rows)
    again = await ingest(server, token, rows)
    assert (first["imported"], first["rejected"]) == (3, [])
    assert (again["imported"], again["duplicates"]) == (0, 3)
    async with server.state.database.session() as session:
        kinds = await session.scalars(
            select(col(Transaction.kind)).where(col(Transaction.card_id) == card_id)
        )
        assert sorted(kinds) == ["purchase", "refund", "repayment"]
