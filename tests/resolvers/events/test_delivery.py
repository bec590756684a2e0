"""The delivery worker against a real HTTP receiver: events of a customer update, a card
freeze and a complaint change arrive once each, signed (checked with the ``standardwebhooks``
package), in order per aggregate; a receiver that fails twice gets the event on the third
attempt after the backoff; a receiver that always fails dead-letters it and the cursor moves
on; a replay sends again from an event id; and no payload ever holds a clear C2 value."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

from sqlmodel import col, select

from core.identity import Role, Scope
from core.settings import Settings
from models.cards.card import Card
from models.events.outbox import OutboxEvent, WebhookDeadLetter, WebhookSubscription
from resolvers.events.delivery import Worker
from schema.relay import to_global_id, uuid_of
from tests.conftest import Server, customer_token, staff_token
from tests.resolvers.events.support import receiver, subscribe, unsubscribe
from tests.security.conftest import running_app
from tests.support import ALICE, World, add_customer, add_oauth_client

TYPES = ["card.status_changed", "complaint.filed", "complaint.status_changed", "customer.updated"]
NEW_NAME, NEW_PHONE, NEW_EMAIL = "欧阳修文", "13900001111", "ouyang.xiuwen@example.com"
UPDATE = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { version } userErrors { code message } }
}
"""
FREEZE = """
mutation($input: CardActionInput!) {
  freezeCard(input: $input) { card { version } userErrors { code message } }
}
"""
FILE = """
mutation($input: FileComplaintInput!) {
  fileComplaint(input: $input) { complaint { id version } userErrors { code message } }
}
"""
ACKNOWLEDGE = """
mutation($input: ComplaintActionInput!) {
  acknowledgeComplaint(input: $input) { complaint { version } userErrors { code message } }
}
"""
REPLAY = """
mutation($id: ID!, $from: String!) {
  replayWebhookSubscription(id: $id, fromEventId: $from) {
    subscription { deliveredThrough } userErrors { code message }
  }
}
"""


async def service_token(server: Server) -> str:
    """A token of a new service account allowed `events:subscribe`."""
    credentials = await add_oauth_client(server.state, scopes="events:subscribe", name="hooks")
    client_id = credentials.client.client_id
    return server.state.tokens.issue(
        subject=client_id,
        role=Role.SERVICE,
        client_id=client_id,
        scopes=frozenset({Scope.EVENTS_SUBSCRIBE}),
    )


def fast(server: Server, **changes: Any) -> Settings:
    base = {
        "events_backoff_base_seconds": 0.1,
        "events_lease_seconds": 5.0,
        "events_poll_seconds": 0.05,
        "events_max_attempts": 3,
        "events_timeout_seconds": 5.0,
    }
    return server.state.settings.model_copy(update={**base, **changes})


async def deliver(server: Server, settings: Settings) -> None:
    worker = Worker(server.state.database, lambda: server.state.key_ring, settings)
    await worker.run(once=True)


async def ok(server: Server, query: str, variables: dict[str, Any], token: str) -> Any:
    body = await server.graphql(query, variables, token=token)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert payload["userErrors"] == [], payload
    return payload


async def make_changes(server: Server, world: World) -> dict[str, str]:
    """A customer update, a card freeze and a complaint filed and acknowledged; the global
    ids of the customer, card and complaint."""
    customer_id = await add_customer(server.state, world, active=True)
    async with server.state.database.session() as session:
        card = (await session.scalars(select(Card).where(Card.customer_id == customer_id))).one()
    admin = staff_token(server, world, "demo-admin")
    customer = to_global_id("Customer", customer_id)
    change = {"id": customer, "version": 1, "name": NEW_NAME, "phone": NEW_PHONE}
    await ok(server, UPDATE, {"input": {**change, "email": NEW_EMAIL}}, admin)
    own = customer_token(server, customer_id)
    card_gid = to_global_id("Card", card.id)
    await ok(server, FREEZE, {"input": {"cardId": card_gid, "version": card.version}}, own)
    filed = await ok(
        server, FILE, {"input": {"description": "年费多扣了", "category": "FEES"}}, own
    )
    complaint = filed["complaint"]
    await ok(server, ACKNOWLEDGE, {"input": {"id": complaint["id"], "version": 1}}, admin)
    return {"customer": customer, "card": card_gid, "complaint": complaint["id"]}


async def test_events_arrive_once_signed_and_in_order_per_aggregate(
    server: Server, world: World
) -> None:
    token = await service_token(server)
    with receiver() as hook:
        sub, secret = await subscribe(server, token, hook.url + "/hooks", TYPES)
        try:
            ids = await make_changes(server, world)
            await deliver(server, fast(server))
            bodies = hook.verified(secret)  # raises on a bad signature
        finally:
            await unsubscribe(server, token, sub)
    webhook_ids = [r.headers["webhook-id"] for r in hook.received]
    assert len(webhook_ids) == len(set(webhook_ids)), "an event arrived twice"
    assert [b["id"] for b in bodies] == webhook_ids
    mine = [b for b in bodies if b["aggregate"]["id"] in ids.values()]
    assert [(b["type"], b["aggregate"]["id"]) for b in mine] == [
        ("customer.updated", ids["customer"]),
        ("card.status_changed", ids["card"]),
        ("complaint.filed", ids["complaint"]),
        ("complaint.status_changed", ids["complaint"]),
    ]
    assert mine[0]["data"]["changedFields"] == ["name", "phone", "email"]
    assert (mine[1]["data"]["action"], mine[1]["data"]["to"]) == ("freeze", "frozen")
    assert mine[3]["data"]["to"] == "acknowledged"
    assert all(b["version"] == 1 for b in bodies)
    by_aggregate: dict[str, list[int]] = defaultdict(list)
    for body in bodies:
        by_aggregate[body["aggregate"]["id"]].append(body["sequence"])
    assert all(seqs == sorted(seqs) for seqs in by_aggregate.values())


async def test_a_failing_receiver_gets_the_event_on_the_third_attempt_after_backoff(
    server: Server, world: World
) -> None:
    token = await service_token(server)
    admin = staff_token(server, world, "demo-admin")
    with receiver() as hook:
        sub, secret = await subscribe(server, token, hook.url, ["customer.updated"])
        hook.plan = [500, 500]
        try:
            customer = to_global_id("Customer", await add_customer(server.state, world))
            await ok(
                server, UPDATE, {"input": {"id": customer, "version": 1, "tags": ["x"]}}, admin
            )
            await deliver(server, fast(server, events_backoff_base_seconds=0.2))
            bodies = hook.verified(secret)
        finally:
            await unsubscribe(server, token, sub)
    assert len(hook.received) == 3
    assert len({r.headers["webhook-id"] for r in hook.received}) == 1  # the same event
    assert bodies[0]["aggregate"]["id"] == customer
    gaps = [b.at - a.at for a, b in zip(hook.received, hook.received[1:], strict=False)]
    assert gaps[0] >= 0.2, gaps  # the base
    assert gaps[1] >= 0.4, gaps  # then twice the base


async def test_after_the_last_attempt_the_event_is_dead_lettered_and_the_cursor_moves_on(
    server: Server, world: World
) -> None:
    token = await service_token(server)
    admin = staff_token(server, world, "demo-admin")
    with receiver() as hook:
        sub, _ = await subscribe(server, token, hook.url, ["customer.updated"])
        hook.plan = [500, 500, 500]  # max_attempts is 3: then a dead letter
        try:
            first = to_global_id("Customer", await add_customer(server.state, world))
            second = to_global_id("Customer", await add_customer(server.state, world))
            for customer in (first, second):
                change = {"id": customer, "version": 1, "tags": ["y"]}
                await ok(server, UPDATE, {"input": change}, admin)
            await deliver(server, fast(server, events_backoff_base_seconds=0.05))
            listed = await server.graphql(
                "{ webhookDeadLetters { subscriptionId eventId attempts lastError } }",
                token=admin,
            )
        finally:
            await unsubscribe(server, token, sub)
    assert [b["aggregate"]["id"] for b in hook.bodies()] == [first, first, first, second]
    sub_id = uuid_of(sub, "WebhookSubscription")
    async with server.state.database.session() as session:
        dead = (
            await session.scalars(
                select(WebhookDeadLetter).where(col(WebhookDeadLetter.subscription_id) == sub_id)
            )
        ).one()
        row = await session.get(WebhookSubscription, sub_id)
    assert (dead.attempts, dead.last_error) == (3, "HTTP 500")
    assert row is not None
    assert row.attempts == 0
    letter = {"subscriptionId": sub, "eventId": str(dead.event_id), "attempts": 3}
    assert {**letter, "lastError": "HTTP 500"} in listed["data"]["webhookDeadLetters"]


async def test_a_replay_sends_again_from_the_event_given_with_the_same_webhook_ids(
    server: Server, world: World
) -> None:
    token = await service_token(server)
    admin = staff_token(server, world, "demo-admin")
    with receiver() as hook:
        sub, secret = await subscribe(server, token, hook.url, ["customer.updated"])
        try:
            customers = [
                to_global_id("Customer", await add_customer(server.state, world)) for _ in range(3)
            ]
            for customer in customers:
                change = {"id": customer, "version": 1, "tags": ["z"]}
                await ok(server, UPDATE, {"input": change}, admin)
            await deliver(server, fast(server))
            first_ids = [b["id"] for b in hook.verified(secret)]
            await ok(server, REPLAY, {"id": sub, "from": first_ids[1]}, token)
            await deliver(server, fast(server))
            again = [b["id"] for b in hook.verified(secret)]
        finally:
            await unsubscribe(server, token, sub)
    assert len(first_ids) == 3
    assert again == first_ids + first_ids[1:]


async def test_no_payload_written_holds_a_clear_c2_value(server: Server, world: World) -> None:
    await make_changes(server, world)  # at least these changes, whatever ran before
    async with server.state.database.session() as session:
        payloads = list(await session.scalars(select(OutboxEvent.payload)))
    text = json.dumps(payloads, ensure_ascii=False)
    clear = [NEW_NAME, NEW_PHONE, NEW_EMAIL, "年费多扣了"]
    clear += [ALICE.name, ALICE.phone, ALICE.id_number, ALICE.address or "", ALICE.email or ""]
    assert payloads
    assert [value for value in clear if value and value in text] == []


async def test_serve_delivers_when_its_setting_says_so(server: Server, world: World) -> None:
    """A second instance of the app on the same database, with the worker inside ``serve``:
    a change made through the first instance reaches the receiver without any CLI."""
    token = await service_token(server)
    admin = staff_token(server, world, "demo-admin")
    settings = fast(server, events_deliver_in_serve=True)
    with receiver() as hook:
        sub, secret = await subscribe(server, token, hook.url, ["customer.updated"])
        try:
            async with running_app(settings):
                customer = to_global_id("Customer", await add_customer(server.state, world))
                change = {"id": customer, "version": 1, "tags": ["serve"]}
                await ok(server, UPDATE, {"input": change}, admin)
                for _ in range(200):
                    if hook.received:
                        break
                    await asyncio.sleep(0.05)
            bodies = hook.verified(secret)
        finally:
            await unsubscribe(server, token, sub)
    assert [b["aggregate"]["id"] for b in bodies] == [customer]
