"""resolveRiskAlert and confirmTransaction: each decision, the card freeze confirmed fraud
brings (once, through the card workflow, with a history entry), versions, who may decide,
and the customer's one answer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import col, select

from models.audit.audit import AuditEntry
from models.cards.card import CardStatus
from schema.relay import to_global_id
from tests.conftest import Server, staff_token
from tests.schema.risk.support_risk_alerts import (
    CONFIRM,
    RESOLVE,
    alert_for,
    alert_row,
    card_state,
    holder,
    payload,
    set_card_status,
    tokens,
)
from tests.support import World


def resolve_input(alert: str, decision: str, version: int = 1, note: str | None = None) -> Any:
    return {"input": {"alertId": alert, "version": version, "decision": decision, "note": note}}


@pytest.mark.parametrize(
    ("decision", "status"),
    [("LEGITIMATE", "LEGITIMATE"), ("FALSE_POSITIVE", "FALSE_POSITIVE")],
)
async def test_a_risk_officer_decides_an_alert_and_the_card_stays_active(
    server: Server, world: World, decision: str, status: str
) -> None:
    who = await holder(server, world)
    alert = await alert_for(server, who)
    officer = staff_token(server, world, "demo-risk")

    body = await server.graphql(
        RESOLVE, resolve_input(alert, decision, note="客户确认"), token=officer
    )

    result = payload(body)
    assert result["userErrors"] == []
    assert result["alert"]["status"] == status
    assert result["alert"]["version"] == 2
    assert result["alert"]["resolvedBy"] == "demo-risk"
    assert result["alert"]["resolvedAt"] is not None
    assert result["alert"]["resolutionNote"] == "客户确认"
    assert result["alert"]["allowedActions"] == []
    assert (await card_state(server, who.card_id))[0] == CardStatus.ACTIVATED
    assert (await alert_row(server, alert)).resolution_note_enc != "客户确认".encode()


async def test_confirmed_fraud_freezes_the_card_with_a_history_entry_and_audits_both(
    server: Server, world: World
) -> None:
    who = await holder(server, world)
    alert = await alert_for(server, who)
    officer = staff_token(server, world, "demo-risk")

    body = await server.graphql(RESOLVE, resolve_input(alert, "CONFIRMED_FRAUD"), token=officer)

    assert payload(body)["alert"]["status"] == "CONFIRMED_FRAUD"
    status, history = await card_state(server, who.card_id)
    assert status == CardStatus.FROZEN
    assert history[-1] == ("freeze", "confirmed fraud")
    async with server.state.database.session() as session:
        actions = set(
            await session.scalars(
                select(AuditEntry.action).where(
                    col(AuditEntry.target_id).in_(
                        [str(who.card_id), str((await alert_row(server, alert)).id)]
                    )
                )
            )
        )
    assert {"risk_alert.resolve", "card.freeze"} <= actions


@pytest.mark.parametrize("card_status", [CardStatus.FROZEN, CardStatus.BLOCKED])
async def test_confirmed_fraud_on_a_card_already_frozen_or_blocked_leaves_it_as_it_is(
    server: Server, world: World, card_status: CardStatus
) -> None:
    who = await holder(server, world)
    alert = await alert_for(server, who)
    await set_card_status(server, who.card_id, card_status)
    officer = staff_token(server, world, "demo-risk")

    body = await server.graphql(RESOLVE, resolve_input(alert, "CONFIRMED_FRAUD"), token=officer)

    assert payload(body)["alert"]["status"] == "CONFIRMED_FRAUD"
    assert await card_state(server, who.card_id) == (card_status, [])


async def test_an_escalated_alert_is_decided_later_and_never_escalated_again(
    server: Server, world: World
) -> None:
    who = await holder(server, world)
    alert = await alert_for(server, who)
    officer = staff_token(server, world, "demo-risk")

    escalated = payload(
        await server.graphql(RESOLVE, resolve_input(alert, "ESCALATED"), token=officer)
    )
    again = payload(
        await server.graphql(RESOLVE, resolve_input(alert, "ESCALATED", 2), token=officer)
    )
    decided = payload(
        await server.graphql(RESOLVE, resolve_input(alert, "CONFIRMED_FRAUD", 2), token=officer)
    )

    assert escalated["alert"]["status"] == "ESCALATED"
    assert escalated["alert"]["resolvedAt"] is None
    assert escalated["alert"]["allowedActions"] == [
        "CONFIRM_FRAUD",
        "MARK_LEGITIMATE",
        "MARK_FALSE_POSITIVE",
    ]
    assert [e["code"] for e in again["userErrors"]] == ["CONFLICT"]
    assert decided["alert"]["status"] == "CONFIRMED_FRAUD"
    assert (await card_state(server, who.card_id))[0] == CardStatus.FROZEN


async def test_a_stale_version_or_a_second_decision_is_a_conflict(
    server: Server, world: World
) -> None:
    who = await holder(server, world)
    alert = await alert_for(server, who)
    officer = staff_token(server, world, "demo-risk")

    stale = payload(
        await server.graphql(RESOLVE, resolve_input(alert, "LEGITIMATE", 7), token=officer)
    )
    first = payload(
        await server.graphql(RESOLVE, resolve_input(alert, "LEGITIMATE"), token=officer)
    )
    second = payload(
        await server.graphql(RESOLVE, resolve_input(alert, "FALSE_POSITIVE", 2), token=officer)
    )

    assert [(e["field"], e["code"]) for e in stale["userErrors"]] == [("version", "CONFLICT")]
    assert stale["alert"] is None
    assert first["alert"]["status"] == "LEGITIMATE"
    assert [e["code"] for e in second["userErrors"]] == ["CONFLICT"]
    assert (await alert_row(server, alert)).status == "legitimate"


@pytest.mark.parametrize("role", ["supervisor", "agent", "marketer", "auditor", "merchant"])
async def test_only_risk_officers_and_admins_decide(
    server: Server, world: World, role: str
) -> None:
    who = await holder(server, world)
    alert = await alert_for(server, who)
    token = (await tokens(server, world))[role]

    body = await server.graphql(RESOLVE, resolve_input(alert, "CONFIRMED_FRAUD"), token=token)

    assert [e["code"] for e in payload(body)["userErrors"]] == ["FORBIDDEN"]
    assert (await alert_row(server, alert)).status == "open"
    assert (await card_state(server, who.card_id))[0] == CardStatus.ACTIVATED


async def test_an_admin_decides_and_the_customer_cannot(server: Server, world: World) -> None:
    who = await holder(server, world)
    alert = await alert_for(server, who)

    refused = await server.graphql(RESOLVE, resolve_input(alert, "LEGITIMATE"), token=who.token)
    admin = await server.graphql(
        RESOLVE, resolve_input(alert, "LEGITIMATE"), token=staff_token(server, world, "demo-admin")
    )

    assert [e["code"] for e in payload(refused)["userErrors"]] == ["FORBIDDEN"]
    assert payload(admin)["alert"]["status"] == "LEGITIMATE"


async def test_an_unknown_alert_is_not_found(server: Server, world: World) -> None:
    unknown = to_global_id("RiskAlert", uuid.uuid4())

    body = await server.graphql(
        RESOLVE, resolve_input(unknown, "LEGITIMATE"), token=staff_token(server, world, "demo-risk")
    )

    assert [(e["field"], e["code"]) for e in payload(body)["userErrors"]] == [
        ("alertId", "NOT_FOUND")
    ]


# --- the customer's answer ----------------------------------------------------------------


async def test_it_was_me_makes_the_alert_legitimate_once(server: Server, world: World) -> None:
    who = await holder(server, world)
    alert = await alert_for(server, who)
    answer = {"input": {"alertId": alert, "itWasMe": True}}

    first = payload(await server.graphql(CONFIRM, answer, token=who.token))
    again = payload(await server.graphql(CONFIRM, answer, token=who.token))
    changed_mind = payload(
        await server.graphql(
            CONFIRM, {"input": {"alertId": alert, "itWasMe": False}}, token=who.token
        )
    )

    assert first["userErrors"] == []
    assert first["alert"]["status"] == "LEGITIMATE"
    assert first["alert"]["customerAnswer"] == "CONFIRMED"
    assert first["alert"]["resolvedBy"] == "customer"
    assert first["alert"]["answeredAt"] is not None
    assert [e["code"] for e in again["userErrors"]] == ["CONFLICT"]
    assert [e["code"] for e in changed_mind["userErrors"]] == ["CONFLICT"]
    assert (await card_state(server, who.card_id))[0] == CardStatus.ACTIVATED


async def test_not_me_freezes_the_card_and_confirms_fraud(server: Server, world: World) -> None:
    who = await holder(server, world)
    alert = await alert_for(server, who)

    body = await server.graphql(
        CONFIRM, {"input": {"alertId": alert, "itWasMe": False}}, token=who.token
    )

    result = payload(body)
    assert result["alert"]["status"] == "CONFIRMED_FRAUD"
    assert result["alert"]["customerAnswer"] == "DENIED"
    status, history = await card_state(server, who.card_id)
    assert status == CardStatus.FROZEN
    assert history == [("freeze", "confirmed fraud")]


async def test_a_customer_answers_only_for_their_own_alerts_and_staff_not_at_all(
    server: Server, world: World
) -> None:
    who = await holder(server, world)
    other = await holder(server, world)
    alert = await alert_for(server, who)
    answer = {"input": {"alertId": alert, "itWasMe": False}}
    roles = await tokens(server, world)

    stranger = payload(await server.graphql(CONFIRM, answer, token=other.token))
    agent = payload(await server.graphql(CONFIRM, answer, token=roles["agent"]))
    officer = payload(await server.graphql(CONFIRM, answer, token=roles["risk_officer"]))
    merchant = payload(await server.graphql(CONFIRM, answer, token=roles["merchant"]))

    assert [e["code"] for e in stranger["userErrors"]] == ["NOT_FOUND"]
    assert [e["code"] for e in agent["userErrors"]] == ["FORBIDDEN"]
    assert [e["code"] for e in officer["userErrors"]] == ["FORBIDDEN"]
    assert [e["code"] for e in merchant["userErrors"]] == ["FORBIDDEN"]
    assert (await alert_row(server, alert)).status == "open"
    assert (await card_state(server, who.card_id))[0] == CardStatus.ACTIVATED
