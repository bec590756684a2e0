"""A customer's consent and its history over HTTP: createCustomer records a row per channel
granted, updateCustomer one per channel changed, the customer's own updateMyConsent one per
channel changed with source APP, audited with one customer.consent_changed event; a stale
expectedVersion or a bad time writes nothing; staff cannot change a customer's consent as
the customer; myConsents lists the history newest first."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Server, customer_token, staff_token
from tests.schema.privacy.consent_support import (
    MINE,
    UPDATE_CUSTOMER,
    UPDATE_MINE,
    changes,
    consent_events,
    create_customer,
    customer_audits,
    history_rows,
    raw_id,
)
from tests.support import World


@pytest.fixture
async def customer(server: Server, world: World) -> tuple[str, int]:
    """A customer created by demo-agent, agreeing to SMS and e-mail."""
    token = staff_token(server, world, "demo-agent")
    return await create_customer(server, token, {"sms": True, "email": True})


async def _mine(server: Server, global_id: str, change: dict[str, Any]) -> dict[str, Any]:
    token = customer_token(server, raw_id(global_id))
    body = await server.graphql(UPDATE_MINE, {"input": change}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["updateMyConsent"]
    return payload


async def test_creating_a_customer_records_one_onboarding_row_per_channel_granted(
    server: Server, world: World, customer: tuple[str, int]
) -> None:
    rows = await history_rows(server, raw_id(customer[0]))

    assert changes(rows) == {("sms", True, "onboarding"), ("email", True, "onboarding")}
    assert {row.actor_id for row in rows} == {str(world.staff["demo-agent"].id)}


async def test_updating_a_customer_records_only_the_channels_that_changed(
    server: Server, world: World, customer: tuple[str, int]
) -> None:
    global_id, version = customer
    token = staff_token(server, world, "demo-agent")

    body = await server.graphql(
        UPDATE_CUSTOMER,
        {
            "input": {
                "id": global_id,
                "version": version,
                "consent": {"sms": True, "push": True, "doNotDisturbStart": "22:00"},
            }
        },
        token=token,
    )

    assert body["data"]["updateCustomer"]["userErrors"] == []
    rows = await history_rows(server, raw_id(global_id))
    staff_rows = [row for row in rows if row.source == "staff"]
    assert changes(staff_rows) == {("email", False, "staff"), ("push", True, "staff")}
    assert {row.actor_id for row in staff_rows} == {str(world.staff["demo-agent"].id)}


async def test_updating_a_customer_without_a_consent_change_records_no_history(
    server: Server, world: World, customer: tuple[str, int]
) -> None:
    global_id, version = customer
    token = staff_token(server, world, "demo-agent")

    body = await server.graphql(
        UPDATE_CUSTOMER,
        {"input": {"id": global_id, "version": version, "tags": ["vip"]}},
        token=token,
    )

    assert body["data"]["updateCustomer"]["userErrors"] == []
    assert len(await history_rows(server, raw_id(global_id))) == 2


async def test_the_customer_changes_their_consent_in_the_app_with_history_and_one_event(
    server: Server, customer: tuple[str, int]
) -> None:
    global_id, version = customer
    customer_id = raw_id(global_id)
    events_before = await consent_events(server, customer_id)

    payload = await _mine(
        server,
        global_id,
        {"sms": False, "phone": True, "email": True, "expectedVersion": version},
    )

    assert payload["userErrors"] == []
    consents = payload["consents"]
    assert consents["version"] == version + 1
    granted = {c["channel"]: c["granted"] for c in consents["channels"]}
    assert granted == {"SMS": False, "EMAIL": True, "PUSH": False, "PHONE": True}
    app_rows = [row for row in await history_rows(server, customer_id) if row.source == "app"]
    assert changes(app_rows) == {("sms", False, "app"), ("phone", True, "app")}
    assert {row.actor_id for row in app_rows} == {str(customer_id)}
    assert consents["history"][0]["source"] == "APP"
    assert await consent_events(server, customer_id) == events_before + 1
    [audited] = await customer_audits(server, customer_id)
    assert (audited.action, audited.actor_id, audited.fields) == (
        "customer.update",
        str(customer_id),
        ["consent"],
    )
    assert audited.details == {"source": "app", "channels": {"sms": False, "phone": True}}


async def test_a_change_that_changes_nothing_writes_nothing(
    server: Server, customer: tuple[str, int]
) -> None:
    global_id, version = customer
    customer_id = raw_id(global_id)
    events_before = await consent_events(server, customer_id)

    payload = await _mine(server, global_id, {"sms": True, "push": False})

    assert payload["userErrors"] == []
    assert payload["consents"]["version"] == version
    assert len(await history_rows(server, customer_id)) == 2
    assert await consent_events(server, customer_id) == events_before


async def test_the_do_not_disturb_window_is_set_and_cleared_and_left_out_stays(
    server: Server, customer: tuple[str, int]
) -> None:
    global_id, _ = customer

    set_window = await _mine(
        server,
        global_id,
        {"doNotDisturbStart": "22:00", "doNotDisturbEnd": "08:00", "preferredChannel": "push"},
    )
    cleared = await _mine(server, global_id, {"doNotDisturbStart": None, "doNotDisturbEnd": None})

    assert set_window["consents"]["doNotDisturbStart"] == "22:00"
    assert cleared["userErrors"] == []
    assert cleared["consents"]["doNotDisturbStart"] is None
    assert cleared["consents"]["doNotDisturbEnd"] is None
    assert cleared["consents"]["preferredChannel"] == "push"
    # Not a channel: no history row, but the consent (and its event) changed.
    assert len(await history_rows(server, raw_id(global_id))) == 2


async def test_a_stale_expected_version_is_a_conflict_and_nothing_is_written(
    server: Server, customer: tuple[str, int]
) -> None:
    global_id, version = customer
    customer_id = raw_id(global_id)
    await _mine(server, global_id, {"push": True})
    events_before = await consent_events(server, customer_id)

    payload = await _mine(server, global_id, {"sms": False, "expectedVersion": version})

    assert payload["consents"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("CONFLICT", "expectedVersion")
    ]
    assert ("sms", False, "app") not in changes(await history_rows(server, customer_id))
    assert await consent_events(server, customer_id) == events_before


async def test_a_bad_time_is_bad_user_input_and_no_channel_changes_either(
    server: Server, customer: tuple[str, int]
) -> None:
    global_id, version = customer
    customer_id = raw_id(global_id)

    payload = await _mine(server, global_id, {"sms": False, "doNotDisturbStart": "25:00"})

    assert payload["consents"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("BAD_USER_INPUT", "consent.doNotDisturbStart")
    ]
    assert len(await history_rows(server, customer_id)) == 2
    assert await consent_events(server, customer_id) == 0
    assert await customer_audits(server, customer_id) == []
    mine = await server.graphql(MINE, token=customer_token(server, customer_id))
    assert mine["data"]["myConsents"]["version"] == version


@pytest.mark.parametrize("username", ["demo-supervisor", "demo-agent", "demo-admin"])
async def test_staff_cannot_change_consent_as_the_customer(
    server: Server, world: World, customer: tuple[str, int], username: str
) -> None:
    customer_id = raw_id(customer[0])
    token = staff_token(server, world, username)

    body = await server.graphql(UPDATE_MINE, {"input": {"sms": False}}, token=token)
    mine = await server.graphql(MINE, token=token)

    payload = body["data"]["updateMyConsent"]
    assert payload["consents"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]
    assert mine["data"]["myConsents"] is None
    assert [e["extensions"]["code"] for e in mine["errors"]] == ["FORBIDDEN"]
    assert len(await history_rows(server, customer_id)) == 2


async def test_my_consents_shows_each_channel_since_its_last_change_and_history_newest_first(
    server: Server, customer: tuple[str, int]
) -> None:
    global_id, _ = customer
    customer_id = raw_id(global_id)
    await _mine(server, global_id, {"sms": False})
    await _mine(server, global_id, {"push": True})
    await _mine(server, global_id, {"sms": True})

    body = await server.graphql(MINE, token=customer_token(server, customer_id))

    consents = body["data"]["myConsents"]
    history = [(h["channel"], h["granted"], h["source"]) for h in consents["history"]]
    assert history[:3] == [("SMS", True, "APP"), ("PUSH", True, "APP"), ("SMS", False, "APP")]
    assert sorted(history[3:]) == [("EMAIL", True, "ONBOARDING"), ("SMS", True, "ONBOARDING")]
    stamps = [h["changedAt"] for h in consents["history"]]
    assert stamps == sorted(stamps, reverse=True)
    since = {c["channel"]: c["since"] for c in consents["channels"]}
    assert since["SMS"] == consents["history"][0]["changedAt"]
    assert since["PUSH"] == consents["history"][1]["changedAt"]

    first_two = await server.graphql(MINE, {"first": 2}, token=customer_token(server, customer_id))
    assert first_two["data"]["myConsents"]["history"] == consents["history"][:2]


async def test_a_history_page_size_out_of_bounds_is_bad_user_input(
    server: Server, customer: tuple[str, int]
) -> None:
    token = customer_token(server, raw_id(customer[0]))

    body = await server.graphql(MINE, {"first": 51}, token=token)

    assert body["data"]["myConsents"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
