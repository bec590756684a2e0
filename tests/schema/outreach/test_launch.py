"""Launching a campaign over HTTP, delivering its messages, and its results.

Given 40 tagged customers (most consenting to SMS, some not, some inside their do-not-disturb
window) in a saved segment, when a marketer launches a campaign with a 25 % control group and
a survey, then: every customer gets one recipient row, the control group is exactly the
customers whose holdout hash falls below 25 %, consenting customers get a queued message (held
until their window ends when inside it) and a survey, the others NO_CONSENT; a second launch
is CONFLICT; the development sender delivers the due messages with the template filled as the
marketer may see it (the name masked), a withdrawn consent cancels a message; and when cards
are activated, ``results`` shows the lift with its interval.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlmodel import col

from auth.masking import mask_name, mask_phone
from models.audit.audit import AuditEntry
from models.cards.card import Card
from models.customers.customer import Customer
from models.outreach.campaign import CampaignRecipient, RecipientOutcome
from models.outreach.message import MessageStatus, OutboundMessage
from models.outreach.survey import Survey
from models.sealing import open_field
from resolvers.customers.input import Consent
from resolvers.outreach.delivery import send_due_messages
from resolvers.outreach.launch import in_control
from resolvers.outreach.senders import DevelopmentSender
from schema.relay import to_global_id, uuid_of
from tests.conftest import Server
from tests.schema.outreach.support import (
    LAUNCH,
    RESULTS,
    create,
    saved_segment,
    tag,
    tagged_customers,
    terms,
    token,
)
from tests.support import World

ZONE = ZoneInfo("Asia/Shanghai")


def _window_around_now() -> tuple[str, str]:
    local = datetime.now(ZONE)
    start, end = local - timedelta(hours=1), local + timedelta(hours=1)
    return start.strftime("%H:%M"), end.strftime("%H:%M")


async def _launch(server: Server, world: World, campaign: dict[str, Any]) -> Any:
    variables = {"input": {"campaignId": campaign["id"], "version": campaign["version"]}}
    body = await server.graphql(LAUNCH, variables, token=token(server, world, "marketer"))
    assert "errors" not in body, body
    return body["data"]["launchCampaign"]


async def test_a_launch_holds_out_control_respects_consent_and_dnd_and_results_show_the_lift(
    server: Server, world: World, tmp_path: Path
) -> None:
    # Given
    label = tag()
    start, end = _window_around_now()
    consents = [Consent(sms=True)] * 30 + [Consent(email=True)] * 5
    consents += [Consent(sms=True, do_not_disturb_start=start, do_not_disturb_end=end)] * 5
    people = await tagged_customers(server, world, label, consents)
    segment = await saved_segment(server, world, label)
    created = await create(
        server, world, **terms(segment, controlPercent=25, withSurvey=True, goalWindowDays=7)
    )
    assert created["userErrors"] == [], created
    campaign = created["campaign"]
    campaign_id = uuid_of(campaign["id"], "Campaign")

    # When
    launched = await _launch(server, world, campaign)

    # Then: the holdout is the hash's, consent and DND are honoured
    control = {p for p in people if in_control(campaign_id, p, 25)}
    no_consent = {p for p in people[30:35] if p not in control}
    messaged = set(people) - control - no_consent
    delayed = {p for p in people[35:] if p not in control}
    assert launched["userErrors"] == []
    assert (launched["audience"], launched["control"]) == (40, len(control))
    assert (launched["messaged"], launched["noConsent"]) == (len(messaged), len(no_consent))
    assert launched["delayed"] == len(delayed)
    assert 0 < len(control) < 20  # 25 % of 40, give or take the hash
    again = await _launch(server, world, {**campaign, "version": 2})
    assert [(e["field"], e["code"]) for e in again["userErrors"]] == [("campaignId", "CONFLICT")]
    async with server.state.database.session() as session:
        audited = list(
            await session.execute(
                select(col(AuditEntry.action), col(AuditEntry.details)).where(
                    col(AuditEntry.target_id) == str(campaign_id)
                )
            )
        )
    assert sorted(action for action, _ in audited) == [
        "campaigns.create",
        "campaigns.launch",
        "campaigns.launch.refused",
    ]
    refusal = next(details for action, details in audited if action.endswith("refused"))
    assert refusal == {"code": "CONFLICT", "field": "campaignId"}

    async with server.state.database.session() as session:
        outcomes: dict[uuid.UUID, str] = dict(
            (
                await session.execute(
                    select(
                        col(CampaignRecipient.customer_id), col(CampaignRecipient.outcome)
                    ).where(col(CampaignRecipient.campaign_id) == campaign_id)
                )
            ).all()
        )
        messages = list(
            await session.scalars(
                select(OutboundMessage).where(col(OutboundMessage.campaign_id) == campaign_id)
            )
        )
        surveys = list(
            await session.scalars(select(Survey).where(col(Survey.campaign_id) == campaign_id))
        )
    assert {p for p, o in outcomes.items() if o == RecipientOutcome.CONTROL} == control
    assert {p for p, o in outcomes.items() if o == RecipientOutcome.NO_CONSENT} == no_consent
    assert {m.customer_id for m in messages} == messaged
    assert {m.survey_id for m in messages} == {s.id for s in surveys}
    launched_at = datetime.fromisoformat(str(launched["campaign"]["launchedAt"]))
    for message in messages:
        assert message.status == MessageStatus.QUEUED.value
        assert message.body_enc is None
        if message.customer_id in delayed:
            local_end = message.send_after.astimezone(ZONE).strftime("%H:%M")
            assert local_end == end
            assert message.send_after > launched_at
        else:
            assert message.send_after == launched_at

    # When the development sender delivers what is due
    outbox = tmp_path / "outbox.jsonl"
    async with server.state.database.session() as session:
        await send_due_messages(
            session,
            ring=server.state.key_ring,
            settings=server.state.settings,
            sender=DevelopmentSender(outbox),
        )
    # Then the due ones went out, filled as the marketer sees the fields; the log has no clear
    # phone number; the ones inside their window wait.
    lines = [json.loads(line) for line in outbox.read_text().splitlines()]
    async with server.state.database.session() as session:
        rows = list(
            await session.execute(
                select(OutboundMessage, Customer)
                .join(Customer, col(Customer.id) == col(OutboundMessage.customer_id))
                .where(col(OutboundMessage.campaign_id) == campaign_id)
            )
        )
    ring = server.state.key_ring
    for message, customer in rows:
        if message.customer_id in delayed:
            assert message.status == MessageStatus.QUEUED.value
            continue
        assert (message.status, message.sender, message.attempts) == ("sent", "development", 1)
        body = open_field(ring, message, "body")
        assert body is not None
        assert body.startswith(f"尊敬的{mask_name('测试客户')}，您的")
        assert server.state.settings.survey_question in body
        phone = open_field(ring, customer, "phone")
        assert phone is not None
        logged = [line for line in lines if line["messageId"] == str(message.id)]
        assert logged == [{**logged[0], "to": mask_phone(phone), "channel": "sms"}]
        assert phone not in outbox.read_text()

    # When one delayed customer withdraws consent, and the window has passed
    withdrawn = sorted(delayed)[0] if delayed else None
    if withdrawn is not None:
        async with server.state.database.session() as session:
            await session.execute(
                update(Customer).where(col(Customer.id) == withdrawn).values(consent_sms=False)
            )
            await session.commit()
        async with server.state.database.session() as session:
            await send_due_messages(
                session,
                ring=ring,
                settings=server.state.settings,
                sender=DevelopmentSender(outbox),
                now=datetime.now(UTC) + timedelta(hours=3),
            )
            statuses: dict[uuid.UUID, str] = dict(
                (
                    await session.execute(
                        select(col(OutboundMessage.customer_id), col(OutboundMessage.status)).where(
                            col(OutboundMessage.campaign_id) == campaign_id
                        )
                    )
                ).all()
            )
        assert statuses[withdrawn] == MessageStatus.CANCELLED.value
        assert {statuses[p] for p in delayed - {withdrawn}} <= {MessageStatus.SENT.value}

    # When goal events arrive: most of the messaged activate a card, one of the control group
    treated = sorted(messaged)
    activated = treated[: len(treated) * 3 // 4] + sorted(control)[:1]
    async with server.state.database.session() as session:
        await session.execute(
            update(Card)
            .where(col(Card.customer_id).in_(activated))
            .values(status="activated", activated_at=datetime.now(UTC) + timedelta(minutes=1))
        )
        await session.commit()

    # Then the results show the lift with its interval
    for role in ("marketer", "supervisor", "auditor", "admin"):
        body = await server.graphql(
            RESULTS, {"id": campaign["id"]}, token=token(server, world, role)
        )
        results = body["data"]["campaign"]["results"]
        assert (results["audience"], results["control"]) == (40, len(control)), role
        assert (results["messaged"], results["noConsent"]) == (len(messaged), len(no_consent))
        sent = len(messaged) - (1 if withdrawn is not None else 0)
        assert results["delivered"] == sent
        treatment_rate = (len(treated) * 3 // 4) / len(messaged)
        control_rate = 1 / len(control)
        assert results["treatment"] == {
            "size": len(messaged),
            "reached": len(treated) * 3 // 4,
            "rate": treatment_rate,
        }
        assert results["controlGroup"]["reached"] == 1
        lift = results["lift"]
        assert abs(lift["value"] - (treatment_rate - control_rate)) < 1e-9
        assert lift["low"] < lift["value"] < lift["high"]
        assert lift["high"] - lift["low"] < 1.2


async def test_launching_needs_the_version_and_a_draft(server: Server, world: World) -> None:
    label = tag()
    await tagged_customers(server, world, label, [Consent(sms=True)])
    segment = await saved_segment(server, world, label)
    campaign = (await create(server, world, **terms(segment)))["campaign"]
    stale = await _launch(server, world, {**campaign, "version": 7})
    assert [(e["field"], e["code"]) for e in stale["userErrors"]] == [("version", "CONFLICT")]
    refused = await server.graphql(
        LAUNCH,
        {"input": {"campaignId": campaign["id"], "version": 1}},
        token=token(server, world, "supervisor"),
    )
    assert refused["data"]["launchCampaign"]["userErrors"][0]["code"] == "FORBIDDEN"
    missing = await _launch(
        server, world, {"id": to_global_id("Campaign", uuid.uuid4()), "version": 1}
    )
    assert [(e["field"], e["code"]) for e in missing["userErrors"]] == [("campaignId", "NOT_FOUND")]


PAGE = """
query($first: Int) {
  campaigns(first: $first, status: LAUNCHED) {
    edges { node { id results { audience messaged treatment { rate } lift { value } } } }
  }
}
"""


async def test_a_page_of_results_costs_the_same_statements_whatever_its_size(
    server: Server, world: World
) -> None:
    label = tag()
    await tagged_customers(server, world, label, [Consent(sms=True), Consent()])
    segment = await saved_segment(server, world, label)
    for goal in ("CARD_ACTIVATION", "REACTIVATION", "SPEND", "CARD_ACTIVATION"):
        extra = {"goalSpendCents": 10_000} if goal == "SPEND" else {}
        campaign = (await create(server, world, **terms(segment, goal=goal, **extra)))["campaign"]
        assert (await _launch(server, world, campaign))["userErrors"] == []

    marketer = token(server, world, "marketer")
    small, few = await server.count_statements(PAGE, {"first": 2}, token=marketer)
    large, many = await server.count_statements(PAGE, {"first": 4}, token=marketer)
    assert len(small["data"]["campaigns"]["edges"]) == 2
    assert len(large["data"]["campaigns"]["edges"]) == 4
    assert all(e["node"]["results"]["audience"] == 2 for e in large["data"]["campaigns"]["edges"])
    assert few == many


async def test_concurrent_launches_launch_once(server: Server, world: World) -> None:
    label = tag()
    await tagged_customers(server, world, label, [Consent(sms=True)] * 5)
    segment = await saved_segment(server, world, label)
    campaign = (await create(server, world, **terms(segment, controlPercent=0)))["campaign"]
    answers = await asyncio.gather(*(_launch(server, world, campaign) for _ in range(4)))
    winners = [answer for answer in answers if not answer["userErrors"]]
    assert len(winners) == 1
    assert winners[0]["messaged"] == 5
    losers = [e["code"] for answer in answers if answer["userErrors"] for e in answer["userErrors"]]
    assert losers == ["CONFLICT"] * 3
    async with server.state.database.session() as session:
        count = await session.scalar(
            select(func.count()).where(
                col(OutboundMessage.campaign_id) == uuid_of(campaign["id"], "Campaign")
            )
        )
    assert count == 5
