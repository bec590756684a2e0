"""What a card's status does elsewhere: transactions are booked only on an active card (file
import and ``ingestTransactions``, one lookup per batch), and activating a card moves the
activation rate of ``analytics.growth``; plus the workflow table itself."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from core.database import counting_statements
from core.identity import Role
from models.cards.card import Card, CardStatus
from models.sealing import open_field
from models.transactions.transaction import Transaction
from resolvers.cards.workflow import CARD_WORKFLOW, CardAction
from resolvers.transactions.files import CountingLines, FileFormat, file_rows
from resolvers.transactions.ingest import ImportSummary, import_transactions
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.support import World, add_customer, add_oauth_client

NOW = datetime(2026, 6, 1, tzinfo=UTC)
HEADER = "card_id,pan,amount,currency,merchant,merchant_category,channel,time,reference\n"
NOT_BOOKED = "not active: its transactions are not booked"


def line(card: str = "", pan: str = "", reference: str = "") -> str:
    return f"{card},{pan},88.00,CNY,星巴克,dining,pos,2026-05-01T12:30:00+08:00,{reference}\n"


async def card_with_status(server: Server, world: World, status: CardStatus) -> tuple[Card, str]:
    """A new customer's card, set to ``status``, and its PAN."""
    customer_id = await add_customer(server.state, world)
    async with server.state.database.session() as session:
        card = (await session.scalars(select(Card).where(Card.customer_id == customer_id))).one()
        card.status = status
        await session.commit()
        await session.refresh(card)
    pan = open_field(server.state.key_ring, card, "pan")
    assert pan is not None
    return card, pan


async def stored_count(server: Server, card_id: uuid.UUID) -> int:
    async with server.state.database.session() as session:
        query = select(func.count()).where(col(Transaction.card_id) == card_id)
        return int(await session.scalar(query) or 0)


async def run_import(server: Server, text: str) -> ImportSummary:
    return await import_transactions(
        database=server.state.database,
        ring=server.state.key_ring,
        rows=file_rows(CountingLines(io.BytesIO(text.encode())), FileFormat.CSV),
        batch_rows=100,
        now=NOW,
    )


async def test_a_file_import_books_only_the_rows_of_active_cards_in_one_lookup(
    server: Server, world: World
) -> None:
    frozen, frozen_pan = await card_with_status(server, world, CardStatus.FROZEN)
    blocked, _ = await card_with_status(server, world, CardStatus.BLOCKED)
    issued, _ = await card_with_status(server, world, CardStatus.ISSUED)
    active, active_pan = await card_with_status(server, world, CardStatus.ACTIVATED)
    text = (
        HEADER
        + line(card=str(frozen.id), reference="F1")
        + line(pan=frozen_pan, reference="F2")
        + line(card=to_global_id("Card", blocked.id), reference="B1")
        + line(card=str(issued.id), reference="I1")
        + line(card=str(active.id), reference="A1")
        + line(pan=active_pan, reference="A2")
    )

    async with counting_statements() as counter:
        summary = await run_import(server, text)

    assert (summary.read, summary.imported, summary.rejected) == (6, 2, 4)
    assert [(e.position, e.reason) for e in summary.errors] == [
        (2, f"the card is frozen, {NOT_BOOKED}"),
        (3, f"the card is frozen, {NOT_BOOKED}"),
        (4, f"the card is blocked, {NOT_BOOKED}"),
        (5, f"the card is issued, {NOT_BOOKED}"),
    ]
    assert [await stored_count(server, c.id) for c in (frozen, blocked, issued, active)] == [
        0,
        0,
        0,
        2,
    ]
    # one card lookup and one insert for the batch, whatever it holds (plus the commit's)
    assert 2 <= counter.value <= 4, counter.value


INGEST = """
mutation Ingest($input: IngestTransactionsInput!) {
  ingestTransactions(input: $input) { imported rejected { index reason } userErrors { code } }
}
"""


async def test_ingest_transactions_refuses_a_row_on_a_frozen_card(
    server: Server, world: World
) -> None:
    credentials = await add_oauth_client(server.state, scopes="transactions:write", name="feed")
    token = server.state.tokens.issue(
        subject=credentials.client.client_id,
        role=Role.SERVICE,
        client_id=credentials.client.client_id,
    )
    frozen, _ = await card_with_status(server, world, CardStatus.FROZEN)
    active, _ = await card_with_status(server, world, CardStatus.ACTIVATED)

    def row(card: Card) -> dict[str, Any]:
        return {
            "cardId": to_global_id("Card", card.id),
            "amount": "128.00",
            "merchant": "海底捞火锅",
            "merchantCategory": "dining",
            "channel": "pos",
            "time": "2025-10-01T19:30:00+08:00",
        }

    body = await server.graphql(
        INGEST, {"input": {"transactions": [row(frozen), row(active)]}}, token=token
    )

    assert body["data"]["ingestTransactions"] == {
        "imported": 1,
        "rejected": [{"index": 0, "reason": f"the card is frozen, {NOT_BOOKED}"}],
        "userErrors": [],
    }


GROWTH = """
query Growth($from: DateTime!, $to: DateTime!) {
  analytics { growth(range: {from: $from, to: $to}) { cardActivation { part whole rate } } }
}
"""
ACTIVATE = """
mutation Activate($input: CardActionInput!) {
  activateCard(input: $input) { card { status } userErrors { code message } }
}
"""


async def test_activating_a_card_moves_the_activation_rate(server: Server, world: World) -> None:
    now = datetime.now(UTC)
    window = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
    }
    admin = staff_token(server, world, "demo-admin")
    customer_id = await add_customer(server.state, world)
    async with server.state.database.session() as session:
        card = (await session.scalars(select(Card).where(Card.customer_id == customer_id))).one()

    before = await server.graphql(GROWTH, window, token=admin)
    activated = await server.graphql(
        ACTIVATE,
        {"input": {"cardId": to_global_id("Card", card.id), "version": 1}},
        token=customer_token(server, customer_id),
    )
    after = await server.graphql(GROWTH, window, token=admin)

    assert activated["data"]["activateCard"] == {"card": {"status": "ACTIVATED"}, "userErrors": []}
    was = before["data"]["analytics"]["growth"]["cardActivation"]
    now_is = after["data"]["analytics"]["growth"]["cardActivation"]
    assert (now_is["part"], now_is["whole"]) == (was["part"] + 1, was["whole"])
    assert now_is["rate"] > was["rate"]


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (CardStatus.ISSUED, ["activate", "report_lost", "report_stolen", "close"]),
        (CardStatus.ACTIVATED, ["freeze", "report_lost", "report_stolen", "close"]),
        (CardStatus.FROZEN, ["unfreeze", "report_lost", "report_stolen", "close"]),
        (CardStatus.BLOCKED, []),
        (CardStatus.CLOSED, []),
    ],
)
def test_the_card_workflow_table(status: CardStatus, allowed: list[str]) -> None:
    assert [action.value for action in CARD_WORKFLOW.allowed_actions(status)] == allowed


def test_blocked_and_closed_are_the_terminal_states() -> None:
    assert CARD_WORKFLOW.terminal_states == {CardStatus.BLOCKED, CardStatus.CLOSED}
    assert CARD_WORKFLOW.describe(CardAction.REPORT_LOST) == "ISSUED, ACTIVATED or FROZEN → BLOCKED"
