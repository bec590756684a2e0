"""Credit-limit change requests (maker–checker) and every change of a card's limit.

A request is made by the customer or branch staff and decided by a risk officer who is not
its requester; its reason and the decision's reason are C2 (sealed). Each change of
``cards.credit_limit_cents`` leaves one row in ``credit_limit_changes``, only ever inserted:
an approved request, a temporary limit that ended, or a risk-driven decrease (with reasons).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from models.columns import (
    code_field,
    created_at_field,
    encrypted_field,
    id_field,
    json_list_field,
    timestamp_field,
)


class LimitRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class LimitChangeKind(StrEnum):
    REQUEST_APPROVED = "request_approved"
    TEMPORARY_ENDED = "temporary_ended"
    RISK_DECREASE = "risk_decrease"


class RiskReason(StrEnum):
    """Why a risk officer lowers a limit (the brief's 降低信用额度)."""

    OVERDUE = "overdue"
    HIGH_UTILISATION = "high_utilisation"
    CREDIT_SCORE_DROP = "credit_score_drop"
    RISK_GRADE_WORSENED = "risk_grade_worsened"
    SUSPECTED_FRAUD = "suspected_fraud"
    INCOME_CHANGE = "income_change"
    EXTERNAL_DEBT = "external_debt"


ONE_PENDING = text("status = 'pending'")


class CreditLimitRequest(SQLModel, table=True):
    __tablename__ = "credit_limit_requests"
    # A card's and a branch's requests newest first; at most one PENDING request per card.
    __table_args__ = (
        Index("ix_credit_limit_requests_card_order", "card_id", "created_at", "id"),
        Index("ix_credit_limit_requests_branch_order", "branch_id", "created_at", "id"),
        Index(
            "uq_credit_limit_requests_one_pending",
            "card_id",
            unique=True,
            sqlite_where=ONE_PENDING,
            postgresql_where=ONE_PENDING,
        ),
    )

    id: uuid.UUID = id_field()
    card_id: uuid.UUID = Field(foreign_key="cards.id")
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    branch_id: uuid.UUID = Field(foreign_key="branches.id")
    requester_kind: str = code_field(16, default="customer")
    requester_id: str = Field(max_length=64)
    current_limit_cents: int  # the card's limit when the request was made
    requested_limit_cents: int
    temporary_until: date | None = None  # the last day a temporary limit holds
    reason_enc: bytes | None = encrypted_field()
    status: str = code_field(16, default=LimitRequestStatus.PENDING, index=True)
    decided_by: str | None = Field(default=None, max_length=64)
    decision_reason_enc: bytes | None = encrypted_field()
    decided_at: datetime | None = timestamp_field()
    # Approved temporary limits: the limit to go back to, and when that happened (or when a
    # later approval replaced it); ``limits revert`` ends those past ``temporary_until``.
    revert_to_cents: int | None = None
    ended_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    version: int = 1


class CreditLimitChange(SQLModel, table=True):
    """One change of a card's limit; rows are only ever inserted."""

    __tablename__ = "credit_limit_changes"
    __table_args__ = (Index("ix_credit_limit_changes_card_order", "card_id", "created_at", "id"),)

    id: uuid.UUID = id_field()
    card_id: uuid.UUID = Field(foreign_key="cards.id")
    old_limit_cents: int
    new_limit_cents: int
    kind: str = code_field(24, default=LimitChangeKind.REQUEST_APPROVED)
    temporary_until: date | None = None
    request_id: uuid.UUID | None = Field(default=None, foreign_key="credit_limit_requests.id")
    reasons: list[str] = json_list_field()  # RiskReason values, for a risk decrease
    note_enc: bytes | None = encrypted_field()
    actor_kind: str = code_field(16, default="staff")
    actor_id: str = Field(max_length=64)
    created_at: datetime = created_at_field()
