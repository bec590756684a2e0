"""Webhook subscriptions through the API: a service account with `events:subscribe` registers
one and gets its secret once (``whsec_`` + base64), bad URLs and unknown event types are
refused with a field, a client sees only its own while an admin sees all, and every other role
is refused."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from core.identity import Role
from core.settings import Environment
from resolvers.events.subscriptions import checked_url
from tests.conftest import Server, customer_token, staff_token
from tests.resolvers.events.support import CREATE, subscribe, unsubscribe
from tests.resolvers.events.test_delivery import service_token
from tests.support import DEMO_STAFF, World

LIST = "{ webhookSubscriptions { id url eventTypes clientId } }"


async def _create(server: Server, token: str, url: str, types: list[str]) -> Any:
    body = await server.graphql(CREATE, {"url": url, "types": types}, token=token)
    return body["data"]["createWebhookSubscription"]


async def test_the_secret_is_answered_once_and_a_client_lists_only_its_own(
    server: Server, world: World
) -> None:
    mine, theirs = await service_token(server), await service_token(server)
    sub, secret = await subscribe(server, mine, "https://hooks.example.com/a", ["card.issued"])
    other, _ = await subscribe(server, theirs, "https://hooks.example.com/b", ["card.issued"])
    try:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret[6:])) == 32
        listed = (await server.graphql(LIST, token=mine))["data"]["webhookSubscriptions"]
        assert [s["id"] for s in listed] == [sub]
        assert "secret" not in str(listed)
        admin = staff_token(server, world, "demo-admin")
        every = (await server.graphql(LIST, token=admin))["data"]["webhookSubscriptions"]
        assert {sub, other} <= {s["id"] for s in every}
        refused = await server.graphql(
            "mutation($id: ID!) { deleteWebhookSubscription(id: $id) { userErrors { code } } }",
            {"id": other},
            token=mine,
        )
        assert refused["data"]["deleteWebhookSubscription"]["userErrors"] == [{"code": "NOT_FOUND"}]
    finally:
        await unsubscribe(server, mine, sub)
        await unsubscribe(server, theirs, other)


@pytest.mark.parametrize(
    ("url", "types", "field"),
    [
        ("ftp://hooks.example.com/x", ["card.issued"], "url"),
        ("https://user:pw@hooks.example.com/x", ["card.issued"], "url"),
        ("https:///nohost", ["card.issued"], "url"),
        ("https://hooks.example.com/x", [], "eventTypes"),
        ("https://hooks.example.com/x", ["customer.deleted"], "eventTypes"),
    ],
)
async def test_bad_input_is_refused_with_its_field(
    server: Server, url: str, types: list[str], field: str
) -> None:
    payload = await _create(server, await service_token(server), url, types)
    assert payload["subscription"] is None
    assert payload["secret"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("BAD_USER_INPUT", field)]


def test_production_requires_https(server: Server) -> None:
    production = server.state.settings.model_copy(update={"environment": Environment.PRODUCTION})
    with pytest.raises(Exception, match="https"):
        checked_url(production, "http://hooks.example.com/x")
    assert checked_url(production, "https://hooks.example.com/x") == "https://hooks.example.com/x"


@pytest.mark.parametrize("role", [r for r in DEMO_STAFF if r != "admin"] + ["customer"])
async def test_other_roles_are_refused(server: Server, world: World, role: str) -> None:
    if role == "customer":
        token = customer_token(server, world.alice.id)
    else:
        token = staff_token(server, world, DEMO_STAFF[role])
    payload = await _create(server, token, "https://hooks.example.com/x", ["card.issued"])
    assert payload["secret"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]
    listed = await server.graphql(LIST, token=token)
    assert listed["data"]["webhookSubscriptions"] is None
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert Role(role) is not Role.ADMIN
