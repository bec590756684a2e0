"""A resolved complaint's survey and its invitation, through the service layer.

Given customers with different consents and do-not-disturb windows, when an agent resolves
their complaint, then exactly one survey rates that agent, with the configured question and
expiry, and one sealed invitation is queued on the first consented channel (app, SMS,
e-mail), held until the DND window ends; a customer with no consent gets the survey but no
message; resolving again after a reopen creates nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models.customers.customer import Customer
from models.outreach.message import MessageStatus
from models.sealing import open_field
from resolvers.customers.input import Consent
from resolvers.outreach.survey_invitations import send_after, survey_channel
from resolvers.service_desk.complaint_workflow import ComplaintAction
from tests.conftest import Server
from tests.resolvers.outreach.survey_support import (
    act,
    messages_of,
    resolved_complaint,
    surveys_of,
)
from tests.support import World, add_customer

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _resolved_for(server: Server, world: World, consent: Consent) -> tuple[uuid.UUID, Any]:
    customer_id = await add_customer(server.state, world, consent=consent)
    agent = world.staff["demo-agent"]
    complaint = await resolved_complaint(
        server.state, customer_id, staff_id=agent.id, branch_id=world.branches["BJ-CY"].id
    )
    return customer_id, complaint


async def test_resolving_creates_one_survey_rating_the_agent_and_an_app_invitation(
    server: Server, world: World
) -> None:
    customer_id, complaint = await _resolved_for(server, world, Consent(push=True, sms=True))

    (survey,) = await surveys_of(server.state, complaint.id)
    settings = server.state.settings
    assert survey.customer_id == customer_id
    assert survey.staff_id == world.staff["demo-agent"].id
    assert survey.branch_id == world.branches["BJ-CY"].id
    assert survey.question == settings.survey_question
    assert survey.score is None
    assert survey.answered_at is None
    valid = survey.expires_at - survey.created_at
    assert valid == timedelta(days=settings.survey_valid_days)

    (message,) = await messages_of(server.state, survey.id)
    assert (message.channel, message.status) == ("app", MessageStatus.QUEUED.value)
    assert message.customer_id == customer_id
    assert message.send_after <= datetime.now(UTC)
    body = open_field(server.state.key_ring, message, "body")
    assert body is not None
    assert settings.survey_question in body
    assert settings.survey_question.encode() not in (message.body_enc or b"")


async def test_without_push_consent_the_invitation_goes_by_sms_then_email(
    server: Server, world: World
) -> None:
    _, by_sms = await _resolved_for(server, world, Consent(sms=True, email=True))
    _, by_email = await _resolved_for(server, world, Consent(email=True, phone=True))

    for complaint, channel in ((by_sms, "sms"), (by_email, "email")):
        (survey,) = await surveys_of(server.state, complaint.id)
        (message,) = await messages_of(server.state, survey.id)
        assert message.channel == channel


async def test_a_customer_who_consented_to_no_message_gets_the_survey_but_no_invitation(
    server: Server, world: World
) -> None:
    _, complaint = await _resolved_for(server, world, Consent(phone=True))

    (survey,) = await surveys_of(server.state, complaint.id)
    assert await messages_of(server.state, survey.id) == []


async def test_inside_the_do_not_disturb_window_the_invitation_waits_for_its_end(
    server: Server, world: World
) -> None:
    local = datetime.now(SHANGHAI)
    start = (local - timedelta(hours=1)).strftime("%H:%M")
    end = (local + timedelta(hours=2)).strftime("%H:%M")
    consent = Consent(push=True, do_not_disturb_start=start, do_not_disturb_end=end)
    _, complaint = await _resolved_for(server, world, consent)

    (survey,) = await surveys_of(server.state, complaint.id)
    (message,) = await messages_of(server.state, survey.id)
    waits_until = message.send_after.astimezone(SHANGHAI)
    assert waits_until.strftime("%H:%M") == end
    assert timedelta(hours=1) < waits_until - local <= timedelta(hours=2)


def test_a_window_that_wraps_midnight_ends_the_next_morning() -> None:
    customer = Customer(
        branch_id=uuid.uuid4(),
        tier_id=uuid.uuid4(),
        do_not_disturb_start="22:00",
        do_not_disturb_end="08:00",
        consent_sms=True,
    )
    late = datetime(2026, 3, 1, 23, 30, tzinfo=SHANGHAI).astimezone(UTC)
    early = datetime(2026, 3, 2, 6, 0, tzinfo=SHANGHAI).astimezone(UTC)
    noon = datetime(2026, 3, 2, 12, 0, tzinfo=SHANGHAI).astimezone(UTC)

    morning = datetime(2026, 3, 2, 8, 0, tzinfo=SHANGHAI)
    assert send_after(customer, late, "Asia/Shanghai") == morning
    assert send_after(customer, early, "Asia/Shanghai") == morning
    assert send_after(customer, noon, "Asia/Shanghai") == noon
    assert survey_channel(customer).value == "sms"  # type: ignore[union-attr]


async def test_resolving_again_after_a_reopen_creates_no_second_survey_or_message(
    server: Server, world: World
) -> None:
    _, complaint = await _resolved_for(server, world, Consent(push=True))
    agent = world.staff["demo-agent"].id

    reopened = await act(
        server.state, complaint, ComplaintAction.REOPEN, staff_id=agent, note="没解决"
    )
    again = await act(server.state, reopened, ComplaintAction.RESOLVE, staff_id=agent)

    assert again.status == "resolved"
    (survey,) = await surveys_of(server.state, complaint.id)
    assert len(await messages_of(server.state, survey.id)) == 1
