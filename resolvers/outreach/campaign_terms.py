"""What a campaign is, as a marketer writes it, and the checks every write makes.

The terms are checked as a whole (after an update, the merged terms), so a campaign is never
saved half-valid: an offer-acceptance goal without an offer, a spend goal without a
threshold, a control group above half the audience, a template with a placeholder its author
may not read (resolvers/outreach/placeholders.py) are all BAD_USER_INPUT naming the field.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from core.errors import BadUserInput, NotFound
from core.identity import Principal
from core.text_limits import checked_text
from models.customers.segment import SavedSegment
from models.growth.offer import Offer
from models.outreach.campaign import CampaignGoal
from resolvers.customers.saved_segments import audience_by_name
from resolvers.outreach.placeholders import check_template
from resolvers.purpose import holds_personal_data

NAME_LIMIT, DESCRIPTION_LIMIT, TEMPLATE_LIMIT = 200, 2000, 1000
MAX_CONTROL_PERCENT = 50
MAX_WINDOW_DAYS = 365


class CampaignChannel(StrEnum):
    """How a campaign reaches its customers; each needs the customer's consent for it."""

    SMS = "sms"
    EMAIL = "email"
    PHONE = "phone"
    APP = "app"  # a push notification in the mobile app (consent_push)


@dataclass(frozen=True)
class CampaignTerms:
    """A campaign's terms; on an update, None keeps the current value."""

    name: str | None = None
    description: str | None = None
    segment: str | None = None  # the saved segment's name
    channel: CampaignChannel | None = None
    template: str | None = None
    offer_id: uuid.UUID | None = None
    goal: CampaignGoal | None = None
    goal_window_days: int | None = None
    goal_spend_cents: int | None = None
    control_percent: int | None = None
    with_survey: bool | None = None
    scheduled_at: datetime | None = None


@dataclass(frozen=True)
class CheckedTerms:
    """Complete, valid terms, ready to be written."""

    name: str
    description: str
    segment_id: uuid.UUID
    channel: CampaignChannel
    template: str
    offer_id: uuid.UUID | None
    goal: CampaignGoal
    goal_window_days: int
    goal_spend_cents: int | None
    control_percent: int
    with_survey: bool
    scheduled_at: datetime | None


def _text(field: str, value: str, limit: int, *, required: bool) -> str:
    text = checked_text(field, value, required=required, limit=limit) or ""
    if holds_personal_data(text):
        raise BadUserInput(f"{field} must not hold personal data", field=field)
    return text


async def segment_id_by_name(session: AsyncSession, principal: Principal, name: str) -> uuid.UUID:
    """The saved segment named ``name``, if ``principal`` may use its conditions (NOT_FOUND,
    FORBIDDEN as ``targetOffer(segment:)`` answers)."""
    await audience_by_name(session, principal, name)
    wanted = unicodedata.normalize("NFKC", name).strip()
    found = await session.scalar(select(SavedSegment.id).where(SavedSegment.name == wanted))
    assert found is not None  # audience_by_name found it
    return found


def _check_numbers(terms: CheckedTerms, now: datetime) -> None:
    if not 0 <= terms.control_percent <= MAX_CONTROL_PERCENT:
        raise BadUserInput(
            f"controlPercent must be 0 to {MAX_CONTROL_PERCENT}", field="controlPercent"
        )
    if not 1 <= terms.goal_window_days <= MAX_WINDOW_DAYS:
        raise BadUserInput(f"goalWindowDays must be 1 to {MAX_WINDOW_DAYS}", field="goalWindowDays")
    if terms.goal is CampaignGoal.OFFER_ACCEPTANCE and terms.offer_id is None:
        raise BadUserInput("an OFFER_ACCEPTANCE goal needs the campaign's offer", field="offerId")
    if terms.goal is CampaignGoal.SPEND and not (terms.goal_spend_cents or 0) > 0:
        raise BadUserInput("a SPEND goal needs goalSpendCents above 0", field="goalSpendCents")
    if terms.scheduled_at is not None and terms.scheduled_at <= now:
        raise BadUserInput("scheduledAt must be in the future", field="scheduledAt")


async def checked_terms(
    session: AsyncSession,
    principal: Principal,
    terms: CampaignTerms,
    *,
    current: CheckedTerms | None,
    now: datetime,
) -> CheckedTerms:
    """``terms`` over ``current`` (None for a new campaign), checked as a whole."""
    if current is None:
        missing = [
            n for n in ("name", "segment", "channel", "template") if getattr(terms, n) is None
        ]
        if missing:
            raise BadUserInput(f"{missing[0]} is required", field=missing[0])
    base = current or CheckedTerms(
        name="",
        description="",
        segment_id=uuid.UUID(int=0),
        channel=CampaignChannel.SMS,
        template="",
        offer_id=None,
        goal=CampaignGoal.REACTIVATION,
        goal_window_days=30,
        goal_spend_cents=None,
        control_percent=10,
        with_survey=False,
        scheduled_at=None,
    )
    merged = replace(
        base,
        **{
            name: value
            for name, value in vars(terms).items()
            if value is not None and name != "segment"
        },
    )
    merged = replace(
        merged,
        name=_text("name", merged.name, NAME_LIMIT, required=True),
        description=_text("description", merged.description, DESCRIPTION_LIMIT, required=False),
        template=_text("template", merged.template, TEMPLATE_LIMIT, required=True),
    )
    if terms.segment is not None:
        merged = replace(
            merged, segment_id=await segment_id_by_name(session, principal, terms.segment)
        )
    if terms.offer_id is not None and await session.get(Offer, terms.offer_id) is None:
        raise NotFound("no offer with this id", field="offerId")
    _check_numbers(merged, now)
    check_template(merged.template, principal, has_offer=merged.offer_id is not None)
    return merged
