"""Merchant offers and their assignment to customers (targeted → redeemed)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import (
    blind_index_field,
    code_field,
    created_at_field,
    encrypted_field,
    id_field,
    json_list_field,
    timestamp_field,
)


class OfferStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    EXPIRED = "expired"


class BenefitType(StrEnum):
    PERCENT_OFF = "percent_off"
    AMOUNT_OFF = "amount_off"
    POINTS_MULTIPLIER = "points_multiplier"
    CASHBACK = "cashback"


class AssignmentStatus(StrEnum):
    TARGETED = "targeted"
    VIEWED = "viewed"
    ACCEPTED = "accepted"
    REDEEMED = "redeemed"
    EXPIRED = "expired"


class Offer(SQLModel, table=True):
    __tablename__ = "offers"

    id: uuid.UUID = id_field()
    merchant_id: uuid.UUID = Field(foreign_key="merchants.id", index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    category: str = code_field(32, default="other")
    benefit_type: str = code_field(32, default=BenefitType.PERCENT_OFF)
    benefit_value: int = 0
    starts_at: datetime = timestamp_field(nullable=False)
    ends_at: datetime = timestamp_field(nullable=False)
    quota: int | None = None
    budget_cents: int | None = None
    min_spend_cents: int = 0
    eligible_tiers: list[str] = json_list_field()
    eligible_stages: list[str] = json_list_field()
    eligible_segments: list[str] = json_list_field()
    spend_categories: list[str] = json_list_field()
    status: str = code_field(16, default=OfferStatus.DRAFT, index=True)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    version: int = 1


class OfferAssignment(SQLModel, table=True):
    __tablename__ = "offer_assignments"
    __table_args__ = (UniqueConstraint("offer_id", "customer_id"),)

    id: uuid.UUID = id_field()
    offer_id: uuid.UUID = Field(foreign_key="offers.id", index=True)
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    status: str = code_field(16, default=AssignmentStatus.TARGETED)
    code_enc: bytes | None = encrypted_field()
    code_bidx: bytes | None = blind_index_field(unique=True)
    targeted_at: datetime = created_at_field()
    viewed_at: datetime | None = timestamp_field()
    accepted_at: datetime | None = timestamp_field()
    redeemed_at: datetime | None = timestamp_field()
    redeemed_amount_cents: int | None = None
    # What the redemption cost the offer's budget (e.g. the discount given), in cents.
    benefit_cents: int | None = None
    redemption_key: str | None = Field(default=None, max_length=128)
    expired_at: datetime | None = timestamp_field()
