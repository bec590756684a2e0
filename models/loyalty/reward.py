"""The rewards catalogue (积分商城) that marketers manage, and the customers' redemptions.

A reward costs ``points_price`` points; ``stock`` is what is left (a redemption takes one
with ``UPDATE … SET stock = stock - 1 WHERE stock > 0``, so two customers never take the
last one). A customer may redeem it while it is active, in stock and inside its validity
window. A redemption is exactly once per (customer, idempotency key): a retry finds the
first one. Its ledger row is the ``redeem`` entry pointing at it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, id_field, timestamp_field


class RewardStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class Reward(SQLModel, table=True):
    __tablename__ = "rewards"
    __table_args__ = (Index("ix_rewards_order", "created_at", "id"),)

    id: uuid.UUID = id_field()
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    points_price: int = Field(sa_type=BigInteger)
    stock: int = 0
    starts_at: datetime = timestamp_field(nullable=False)
    ends_at: datetime = timestamp_field(nullable=False)
    status: str = code_field(16, default=RewardStatus.ACTIVE, index=True)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    version: int = 1


class RewardRedemption(SQLModel, table=True):
    __tablename__ = "reward_redemptions"
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key"),
        Index("ix_reward_redemptions_reward_time", "reward_id", "created_at"),
    )

    id: uuid.UUID = id_field()
    reward_id: uuid.UUID = Field(foreign_key="rewards.id")
    customer_id: uuid.UUID = Field(foreign_key="customers.id")
    points: int = Field(sa_type=BigInteger)
    idempotency_key: str = Field(max_length=128)
    created_at: datetime = created_at_field()
