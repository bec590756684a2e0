"""riskAlertRaised over a real WebSocket: alerts raised by an ingested batch arrive after it
committed, as each subscriber's scope shows them (risk officers every branch or the one they
ask for, supervisors their own branch); agents, customers and merchants are refused."""

from __future__ import annotations

from typing import Any

import pytest

from core.identity import Role
from models.cards.card import Card
from resolvers.risk.alert_events import RAISED_CHANNEL
from schema.relay import to_global_id
from tests.api.conftest import signed_in
from tests.api.test_subscriptions import until_listening, until_quiet
from tests.conftest import Server, customer_token, staff_token
from tests.resolvers.risk.support_alerts import new_card
from tests.support import World, add_oauth_client

RAISED = """
subscription Raised($branch: ID) {
  riskAlertRaised(branchId: $branch) { id rule severity status amount card { id } }
}
"""
INGEST = """
mutation Ingest($input: IngestTransactionsInput!) {
  ingestTransactions(input: $input) { imported userErrors { code } }
}
"""


async def feed_token(server: Server) -> str:
    credentials = await add_oauth_client(server.state, scopes="transactions:write", name="feed")
    return server.state.tokens.issue(
        subject=credentials.client.client_id,
        role=Role.SERVICE,
        client_id=credentials.client.client_id,
    )


async def burst(server: Server, token: str, card: Card, day: int) -> None:
    """Five purchases within ten minutes: one velocity alert."""
    rows: list[dict[str, Any]] = [
        {
            "cardId": to_global_id("Card", card.id),
            "amount": "66.00",
            "merchant": "便利店",
            "merchantCategory": "grocery",
            "channel": "pos",
            "time": f"2026-05-{day:02d}T12:0{minute}:00+08:00",
        }
        for minute in range(5)
    ]
    body = await server.graphql(INGEST, {"input": {"transactions": rows}}, token=token)
    assert body["data"]["ingestTransactions"] == {"imported": 5, "userErrors": []}, body


async def test_raised_alerts_reach_each_subscriber_in_their_scope(
    server: Server, world: World
) -> None:
    here = await new_card(server, world)  # BJ-CY, the demo supervisor's branch
    from tests.support import add_customer

    there_customer = await add_customer(server.state, world, branch="SH-PD", active=True)
    async with server.state.database.session() as session:
        from sqlmodel import select

        there = (
            await session.scalars(select(Card).where(Card.customer_id == there_customer))
        ).one()
    sh_pd = to_global_id("Branch", world.branches["SH-PD"].id)
    feed = await feed_token(server)
    await until_quiet(server, RAISED_CHANNEL)

    async with (
        signed_in(server.base_url, staff_token(server, world, "demo-risk")) as officer,
        signed_in(server.base_url, staff_token(server, world, "demo-risk")) as officer_sh,
        signed_in(server.base_url, staff_token(server, world, "demo-supervisor")) as supervisor,
    ):
        await officer.subscribe("all", RAISED)
        await officer_sh.subscribe("sh", RAISED, {"branch": sh_pd})
        await supervisor.subscribe("mine", RAISED)
        await until_listening(server, RAISED_CHANNEL, 3)

        await burst(server, feed, here, day=3)
        first_for_officer = await officer.next_data("all")
        first_for_supervisor = await supervisor.next_data("mine")
        await burst(server, feed, there, day=4)
        second_for_officer = await officer.next_data("all")
        first_for_sh = await officer_sh.next_data("sh")
        await burst(server, feed, here, day=5)
        second_for_supervisor = await supervisor.next_data("mine")
        third_for_officer = await officer.next_data("all")

    assert first_for_officer["riskAlertRaised"]["card"] == {"id": to_global_id("Card", here.id)}
    assert first_for_officer["riskAlertRaised"]["rule"] == "VELOCITY"
    assert first_for_officer["riskAlertRaised"]["status"] == "OPEN"
    assert first_for_officer["riskAlertRaised"]["amount"] == "66.00"
    assert first_for_supervisor == first_for_officer
    assert second_for_officer["riskAlertRaised"]["card"] == {"id": to_global_id("Card", there.id)}
    # The SH-PD subscription skipped the BJ-CY alert; the supervisor skipped SH-PD's.
    assert first_for_sh == second_for_officer
    assert second_for_supervisor == third_for_officer
    assert second_for_supervisor != second_for_officer


@pytest.mark.parametrize("who", ["agent", "customer"])
async def test_others_are_refused_when_subscribing(server: Server, world: World, who: str) -> None:
    token = (
        customer_token(server, world.alice.id)
        if who == "customer"
        else staff_token(server, world, "demo-agent")
    )
    async with signed_in(server.base_url, token) as socket:
        await socket.subscribe("raised", RAISED)
        message = await socket.receive()
    assert (message["type"], message["id"]) == ("error", "raised")
    assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"
