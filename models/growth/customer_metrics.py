"""What the last evaluation (``cardcrm evaluate``) computed for each customer.

One row per customer, overwritten by every run: recency/frequency/monetary over the
evaluation window, the yearly figures tier qualification reads, the churn-risk score with the
reasons behind it, and the spend per merchant category that segments and offer affinity use.
The stage and segments themselves live on the customer; their changes go to the histories.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index
from sqlmodel import Field, SQLModel

from models.columns import json_list_field, timestamp_field


class CustomerMetrics(SQLModel, table=True):
    __tablename__ = "customer_metrics"
    # Customer filters narrow by these figures (migration 0011_segments).
    __table_args__ = (
        Index("ix_customer_metrics_churn_score", "churn_score", "customer_id"),
        Index("ix_customer_metrics_monetary", "monetary_cents", "customer_id"),
        Index("ix_customer_metrics_recency", "recency_days", "customer_id"),
    )

    customer_id: uuid.UUID = Field(foreign_key="customers.id", primary_key=True)
    evaluated_at: datetime = timestamp_field(nullable=False)
    window_days: int
    # None: the customer has never made a transaction.
    recency_days: int | None = None
    frequency: int = 0
    # Sums of money can pass 2**31 fen (¥21M) in a year: 64-bit on every database.
    monetary_cents: int = Field(default=0, sa_type=BigInteger)
    annual_spend_cents: int = Field(default=0, sa_type=BigInteger)
    annual_transactions: int = 0
    churn_score: float = 0.0
    churn_reasons: list[str] = json_list_field()
    # The risk grade the behaviour gives (even while an override holds) and why
    # (RiskGradeReason values, models/risk/grade.py).
    risk_grade: str | None = Field(default=None, max_length=2)
    risk_reasons: list[str] = json_list_field()
    # merchant category → spend in the window, in cents.
    category_spend: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
