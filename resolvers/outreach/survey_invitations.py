"""The message that invites a customer to answer a survey: which channel, and when.

**Channel.** The app's push first (``consent_push``), else SMS, else e-mail: the first
channel the customer consented to. A service survey is not marketing, but it is still an
unsolicited message, so it goes only where the customer said messages may go; phone consent
is for calls, and a survey is not read out. A customer who consented to none gets no message:
the survey still waits for them in the app (``mySurveys``).

**When.** Now, unless now is inside the customer's do-not-disturb window (the one rule of
``resolvers.service_desk.contact_rules``, read in ``Settings.contact_timezone``): then
``send_after`` is the window's end, and the sender leaves the message queued until then. The
window applies to service messages too: nobody wants a survey at 23:00.

The body carries no customer data (the question only), yet it is sealed like every
outbound body, so the senders read all messages one way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.encryption import KeyRing
from core.settings import Settings
from models.customers.customer import Customer
from models.outreach.message import MessageStatus, OutboundMessage
from models.outreach.survey import Survey
from models.sealing import seal_field
from models.service_desk.interaction import InteractionChannel
from resolvers.service_desk.contact_rules import MARKETING_CONSENT, do_not_disturb_until

# In order of preference; each needs its consent flag (the service desk's MARKETING_CONSENT).
SURVEY_CHANNELS = (InteractionChannel.APP, InteractionChannel.SMS, InteractionChannel.EMAIL)
INVITATION = "{question} 请在信用卡App「我的调查」中作答，{days}天内有效。"


def survey_channel(customer: Customer) -> InteractionChannel | None:
    """The first channel of ``SURVEY_CHANNELS`` the customer consented to, if any."""
    for channel in SURVEY_CHANNELS:
        if getattr(customer, MARKETING_CONSENT[channel]):
            return channel
    return None


def send_after(customer: Customer, now: datetime, timezone: str) -> datetime:
    """``now``, or the end of the do-not-disturb window ``now`` falls in (local time)."""
    until = do_not_disturb_until(
        customer.do_not_disturb_start, customer.do_not_disturb_end, now, timezone
    )
    return now if until is None else until


def queue_invitation(
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    customer: Customer,
    survey: Survey,
    now: datetime,
) -> OutboundMessage | None:
    """Adds the invitation to the session (the caller commits it), or nothing without consent."""
    channel = survey_channel(customer)
    if channel is None:
        return None
    message = OutboundMessage(
        customer_id=customer.id,
        survey_id=survey.id,
        channel=channel.value,
        status=MessageStatus.QUEUED.value,
        send_after=send_after(customer, now, settings.contact_timezone),
        created_at=now,
    )
    body = INVITATION.format(question=survey.question, days=settings.survey_valid_days)
    seal_field(ring, message, "body", body)
    session.add(message)
    return message
