"""Risk and fraud alerts (风险预警系统), raised by the rules on every imported batch and by
a risk grade that worsens to D or E.

``natural_key`` (rule and what triggered it) makes a re-run of the rules, or a re-import,
raise nothing twice. ``details`` holds the rule's figures (counts, amounts in fen, window,
category, currency): no C2 value. A decision's note is C2 (sealed).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, encrypted_field, id_field, timestamp_field


class AlertRule(StrEnum):
    VELOCITY = "velocity"  # N transactions on a card within M minutes
    AMOUNT_SPIKE = "amount_spike"  # far above the customer's usual purchase
    UNUSUAL_CATEGORY_HOUR = "unusual_category_hour"  # a new category at an unusual hour
    FOREIGN_CURRENCY = "foreign_currency"  # first foreign currency for this customer
    INACTIVE_CARD_USE = "inactive_card_use"  # a transaction on a frozen or blocked card
    GRADE_WORSENED = "grade_worsened"  # the risk grade fell to D or E


class AlertSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class AlertStatus(StrEnum):
    OPEN = "open"
    CONFIRMED_FRAUD = "confirmed_fraud"  # the card is frozen
    LEGITIMATE = "legitimate"
    FALSE_POSITIVE = "false_positive"
    ESCALATED = "escalated"


class CustomerAnswer(StrEnum):
    """The customer's answer in the app to "was this you?"."""

    CONFIRMED = "confirmed"  # it was me
    DENIED = "denied"  # it was not me


class RiskAlert(SQLModel, table=True):
    __tablename__ = "risk_alerts"
    __table_args__ = (
        # The risk queue newest first, across branches or in one; by status.
        Index("ix_risk_alerts_order", "created_at", "id"),
        Index("ix_risk_alerts_branch_order", "branch_id", "created_at", "id"),
        Index("ix_risk_alerts_status", "status"),
        Index("ix_risk_alerts_card", "card_id"),
    )

    id: uuid.UUID = id_field()
    rule: str = code_field(32, default=AlertRule.VELOCITY)
    severity: str = code_field(8, default=AlertSeverity.MEDIUM)
    status: str = code_field(16, default=AlertStatus.OPEN)
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    branch_id: uuid.UUID = Field(foreign_key="branches.id")
    card_id: uuid.UUID | None = Field(default=None, foreign_key="cards.id")
    # The booked transaction that triggered it (the latest one, for velocity); none for a
    # refused transaction on an inactive card, or a grade alert.
    transaction_id: uuid.UUID | None = Field(default=None, foreign_key="transactions.id")
    amount_cents: int | None = Field(default=None, sa_type=BigInteger)
    occurred_at: datetime | None = timestamp_field()
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    natural_key: str = Field(max_length=160, unique=True)
    customer_answer: str | None = code_field(16)
    answered_at: datetime | None = timestamp_field()
    resolved_by: str | None = Field(default=None, max_length=64)
    resolution_note_enc: bytes | None = encrypted_field()
    resolved_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    version: int = 1
