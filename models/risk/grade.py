"""A customer's risk grade history (信用评分): every change, by evaluation or by a risk
officer's override, with its reasons. Rows are only ever inserted.

The grade itself stays on ``customers.risk_grade``; ``customers.risk_grade_overridden``
holds an override until it is lifted (evaluation leaves the grade alone meanwhile, but keeps
computing and recording what it would be in ``customer_metrics``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, encrypted_field, id_field, json_list_field


class RiskGradeSource(StrEnum):
    EVALUATION = "evaluation"
    OVERRIDE = "override"
    OVERRIDE_LIFTED = "override_lifted"


class RiskGradeReason(StrEnum):
    """Why evaluation gave a grade (like the churn reasons)."""

    HIGH_UTILISATION = "high_utilisation"
    OVERDUE_NOW = "overdue_now"
    OVERDUE_HISTORY = "overdue_history"
    LOW_REPAYMENT_RATIO = "low_repayment_ratio"
    SPENDING_SPIKE = "spending_spike"
    CASH_LIKE_SPENDING = "cash_like_spending"
    CLEAN_RECORD = "clean_record"
    NO_HISTORY = "no_history"  # no statement yet: a new customer's grade (C) at best


class RiskGradeChange(SQLModel, table=True):
    __tablename__ = "risk_grade_history"
    __table_args__ = (
        Index("ix_risk_grade_history_customer_order", "customer_id", "created_at", "id"),
    )

    id: uuid.UUID = id_field()
    customer_id: uuid.UUID = Field(foreign_key="customers.id")
    from_grade: str | None = code_field(2)
    to_grade: str = code_field(2, default="C")
    source: str = code_field(16, default=RiskGradeSource.EVALUATION)
    reasons: list[str] = json_list_field()  # RiskGradeReason values
    note_enc: bytes | None = encrypted_field()  # an override's reason (C2)
    actor_kind: str = code_field(16, default="system")
    actor_id: str = Field(max_length=64)
    created_at: datetime = created_at_field()
