"""Every contact with a customer. Notes are C2 free text and stored encrypted."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, encrypted_field, id_field, timestamp_field


class InteractionChannel(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    WECHAT = "wechat"
    APP = "app"
    BRANCH = "branch"
    VISIT = "visit"


class InteractionKind(StrEnum):
    FOLLOW_UP = "follow_up"
    CARE = "care"
    MARKETING = "marketing"
    SERVICE = "service"
    COLLECTION_REMINDER = "collection_reminder"
    COLLECTION = "collection"  # a collector's contact (models/collections/case.py)
    SATISFACTION_SURVEY = "satisfaction_survey"


class Interaction(SQLModel, table=True):
    __tablename__ = "interactions"
    # A customer's interactions page newest first (their loaders).
    __table_args__ = (Index("ix_interactions_customer_page", "customer_id", "occurred_at", "id"),)

    id: uuid.UUID = id_field()
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    channel: str = code_field(16, default=InteractionChannel.PHONE)
    direction: str = code_field(8, default="outbound")
    kind: str = code_field(32, default=InteractionKind.SERVICE)
    subject: str = Field(max_length=200)
    notes_enc: bytes | None = encrypted_field()
    outcome: str | None = Field(default=None, max_length=200)
    satisfaction: int | None = None
    staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id", index=True)
    complaint_id: uuid.UUID | None = Field(default=None, foreign_key="complaints.id")
    occurred_at: datetime = timestamp_field(nullable=False, index=True)
    created_at: datetime = created_at_field()
