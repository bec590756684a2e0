"""Contact rules, enforced when an interaction is logged (not merely stored):

* an outbound *marketing* contact needs the customer's consent for that channel — SMS,
  e-mail, phone, or the app (push); other channels record no consent, so marketing over
  them is refused;
* and must not fall inside the customer's do-not-disturb window, read in the customer's
  local time (``Settings.contact_timezone``); a window like 22:00–08:00 wraps midnight.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.errors import BadUserInput
from models.customers.customer import Customer
from models.service_desk.interaction import InteractionChannel, InteractionKind

MARKETING_CONSENT = {
    InteractionChannel.SMS: "consent_sms",
    InteractionChannel.EMAIL: "consent_email",
    InteractionChannel.PHONE: "consent_phone",
    InteractionChannel.APP: "consent_push",
}


def _within(moment: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end  # the window wraps midnight


def do_not_disturb_until(
    start: str | None, end: str | None, at: datetime, timezone: str
) -> datetime | None:
    """When the do-not-disturb window ``start``–``end`` (``"HH:MM"``, local time) that ``at``
    falls in ends, or None when ``at`` is outside it (or there is no window). Campaigns hold a
    message until then (resolvers/outreach/launch.py)."""
    if not (start and end):
        return None
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    begins, ends = time.fromisoformat(start), time.fromisoformat(end)
    if not _within(local.time(), begins, ends):
        return None
    until = datetime.combine(local.date(), ends, tzinfo=zone)
    if until <= local:  # the window wraps midnight and ends tomorrow
        until = datetime.combine(local.date() + timedelta(days=1), ends, tzinfo=zone)
    return until.astimezone(at.tzinfo)


def in_do_not_disturb(customer: Customer, at: datetime, timezone: str) -> bool:
    until = do_not_disturb_until(
        customer.do_not_disturb_start, customer.do_not_disturb_end, at, timezone
    )
    return until is not None


def check_contact(
    customer: Customer,
    *,
    channel: InteractionChannel,
    kind: InteractionKind,
    outbound: bool,
    at: datetime,
    timezone: str,
) -> None:
    """Refuses an outbound marketing contact the customer has not allowed."""
    if not outbound or kind is not InteractionKind.MARKETING:
        return
    consent = MARKETING_CONSENT.get(channel)
    if consent is None:
        raise BadUserInput(
            f"marketing over {channel.value} is not allowed: consent is only recorded for "
            "sms, email, phone and app",
            field="channel",
        )
    if not getattr(customer, consent):
        raise BadUserInput(
            f"the customer has not consented to marketing by {channel.value}", field="channel"
        )
    if in_do_not_disturb(customer, at, timezone):
        raise BadUserInput(
            f"the customer does not want to be disturbed between "
            f"{customer.do_not_disturb_start} and {customer.do_not_disturb_end} ({timezone})",
            field="occurredAt",
        )
