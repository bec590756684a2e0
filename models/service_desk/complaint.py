"""Complaints and their append-only timeline. Description, resolution and notes are C2."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, encrypted_field, id_field, timestamp_field


class ComplaintStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class ComplaintSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ComplaintCategory(StrEnum):
    BILLING_DISPUTE = "billing_dispute"
    FEES = "fees"
    SERVICE_ATTITUDE = "service_attitude"
    FRAUD = "fraud"
    REWARDS = "rewards"
    COLLECTION = "collection"
    OTHER = "other"


class Complaint(SQLModel, table=True):
    __tablename__ = "complaints"

    id: uuid.UUID = id_field()
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    card_id: uuid.UUID | None = Field(default=None, foreign_key="cards.id")
    branch_id: uuid.UUID = Field(foreign_key="branches.id", index=True)
    category: str = code_field(32, default=ComplaintCategory.OTHER)
    channel: str = code_field(16, default="phone")
    description_enc: bytes | None = encrypted_field()
    severity: str = code_field(16, default=ComplaintSeverity.MEDIUM)
    status: str = code_field(16, default=ComplaintStatus.OPEN, index=True)
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id", index=True)
    due_at: datetime = timestamp_field(nullable=False)
    resolution_enc: bytes | None = encrypted_field()
    satisfaction: int | None = None
    reopen_count: int = 0
    escalation_level: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    acknowledged_at: datetime | None = timestamp_field()
    resolved_at: datetime | None = timestamp_field()
    closed_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    version: int = 1


class ComplaintEvent(SQLModel, table=True):
    """One line of a complaint's timeline; rows are only ever inserted."""

    __tablename__ = "complaint_events"

    id: uuid.UUID = id_field()
    complaint_id: uuid.UUID = Field(foreign_key="complaints.id", index=True)
    action: str = code_field(32, default="file")
    actor_kind: str = code_field(16, default="staff")
    actor_id: str = Field(max_length=64)
    from_status: str | None = code_field(16)
    to_status: str | None = code_field(16)
    note_enc: bytes | None = encrypted_field()
    created_at: datetime = created_at_field()
