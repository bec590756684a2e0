"""Campaigns (营销活动): a message to a saved segment, with a control group and a goal.

A campaign names its audience by saved segment, its channel and a message template whose
placeholders are filled at send time. At launch every customer of the segment gets one
``CampaignRecipient`` row: a deterministic share of them (by a hash of campaign and
customer) is held out as the control group, and each of the others is either sent a message
or recorded with why not (no consent for the channel). ``campaign.results`` compares the
goal metric between those reached and the control group.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, id_field, timestamp_field


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"  # launches itself at ``scheduled_at`` (``cardcrm campaigns run``)
    LAUNCHED = "launched"
    CANCELLED = "cancelled"


class CampaignGoal(StrEnum):
    OFFER_ACCEPTANCE = "offer_acceptance"  # the campaign's offer accepted in the window
    CARD_ACTIVATION = "card_activation"  # a card activated in the window
    SPEND = "spend"  # at least ``goal_spend_cents`` spent in the window
    REACTIVATION = "reactivation"  # any purchase in the window (for dormant audiences)


class RecipientOutcome(StrEnum):
    CONTROL = "control"  # held out: no message, the baseline for the lift
    MESSAGED = "messaged"  # a message was queued for it
    NO_CONSENT = "no_consent"  # not consenting to the campaign's channel


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"
    __table_args__ = (
        Index("ix_campaigns_page", "created_at", "id"),
        Index("ix_campaigns_due", "status", "scheduled_at"),
    )

    id: uuid.UUID = id_field()
    name: str = Field(max_length=200, unique=True)
    description: str = Field(default="", max_length=2000)
    segment_id: uuid.UUID = Field(foreign_key="saved_segments.id", index=True)
    channel: str = code_field(16, default="sms")
    # Marketing copy with ``{placeholders}``; never customer data itself.
    template: str = Field(max_length=1000)
    offer_id: uuid.UUID | None = Field(default=None, foreign_key="offers.id")
    goal: str = code_field(32, default=CampaignGoal.REACTIVATION)
    goal_window_days: int = 30
    goal_spend_cents: int | None = Field(default=None, sa_type=BigInteger)
    control_percent: int = 10
    # A survey goes out with each message (models/outreach/survey.py).
    with_survey: bool = False
    scheduled_at: datetime | None = timestamp_field()
    status: str = code_field(16, default=CampaignStatus.DRAFT)
    launched_at: datetime | None = timestamp_field()
    launched_by: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    version: int = 1


class CampaignRecipient(SQLModel, table=True):
    """One customer of the audience as it stood at launch, and what the launch did for them."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id"),
        Index("ix_campaign_recipients_outcome", "campaign_id", "outcome"),
    )

    id: uuid.UUID = id_field()
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id")
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    outcome: str = code_field(16, default=RecipientOutcome.MESSAGED)
    created_at: datetime = created_at_field()
