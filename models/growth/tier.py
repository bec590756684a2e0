"""Card tiers (standard → diamond), their qualifying rules and each customer's tier history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, id_field, json_list_field


class TierCode(StrEnum):
    STANDARD = "standard"
    SILVER = "silver"
    GOLD = "gold"
    PLATINUM = "platinum"
    DIAMOND = "diamond"


class TierChange(StrEnum):
    EVALUATION = "evaluation"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    OVERRIDE = "override"


class Tier(SQLModel, table=True):
    __tablename__ = "tiers"

    id: uuid.UUID = id_field()
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=64)
    rank: int = Field(unique=True)
    min_annual_spend_cents: int = 0
    min_transactions: int = 0
    benefits: list[str] = json_list_field()
    service_level_hours: int = 72
    # Points earned per purchase are multiplied by this share (100 = 1x, 150 = 1.5x);
    # resolvers/loyalty/earning.py reads it (migration 0012_points).
    points_multiplier_percent: int = Field(default=100, sa_column_kwargs={"server_default": "100"})
    # Bumped by each administrative edit, a new set of terms included (resolvers/admin).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = created_at_field()


class TierTerms(SQLModel, table=True):
    """A version of a tier's qualifying thresholds, in force from ``effective_from`` on.

    A catalogue edit never rewrites history: it adds a row, and qualification on a day uses
    the latest row whose ``effective_from`` is on or before that day (a tier without one in
    force uses the thresholds on its ``tiers`` row, as before migration 0016_admin). The
    ``tiers`` row keeps the thresholds it was created with.
    """

    __tablename__ = "tier_terms"
    __table_args__ = (UniqueConstraint("tier_id", "effective_from"),)

    id: uuid.UUID = id_field()
    tier_id: uuid.UUID = Field(foreign_key="tiers.id", index=True)
    effective_from: date
    min_annual_spend_cents: int = 0
    min_transactions: int = 0
    created_at: datetime = created_at_field()


class TierHistory(SQLModel, table=True):
    __tablename__ = "tier_history"

    id: uuid.UUID = id_field()
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    from_tier_id: uuid.UUID | None = Field(default=None, foreign_key="tiers.id")
    to_tier_id: uuid.UUID = Field(foreign_key="tiers.id")
    change: str = code_field(default=TierChange.EVALUATION)
    reason: str = Field(max_length=500)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    created_at: datetime = created_at_field()
