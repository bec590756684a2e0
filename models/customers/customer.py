"""The customer record. Every C2 value is a ``*_enc`` ciphertext cell (core.encryption);
phone and national ID also have a blind index for exact-match lookup."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, false
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


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNDISCLOSED = "undisclosed"


class LifecycleStage(StrEnum):
    PROSPECT = "prospect"
    NEW = "new"
    ACTIVE = "active"
    LOYAL = "loyal"
    DORMANT = "dormant"
    AT_RISK = "at_risk"
    CHURNED = "churned"


class RiskGrade(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


class ContactChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"
    PHONE = "phone"


# The C2 fields of a customer, each stored in ``<field>_enc``.
CUSTOMER_SEALED_FIELDS = (
    "name",
    "birth_date",
    "id_number",
    "phone",
    "email",
    "address",
    "customer_number",
)


class Customer(SQLModel, table=True):
    __tablename__ = "customers"
    # Customer pages are newest first, in a branch (staff) or across all (oversight).
    __table_args__ = (
        Index("ix_customers_branch_page", "branch_id", "created_at", "id"),
        Index("ix_customers_page", "created_at", "id"),
    )

    id: uuid.UUID = id_field()
    name_enc: bytes | None = encrypted_field()
    # Of the normalised full name, for customersByName (migration 0006_name_index).
    name_bidx: bytes | None = blind_index_field()
    gender: str = code_field(16, default=Gender.UNDISCLOSED)
    birth_date_enc: bytes | None = encrypted_field()
    # Of the birthday's "MM-DD", so the daily birthday care finds its customers set-based
    # (migration 0013_outreach; existing rows: ``cardcrm customers index-birthdays``).
    birthday_bidx: bytes | None = blind_index_field()
    id_number_enc: bytes | None = encrypted_field()
    id_number_bidx: bytes | None = blind_index_field(unique=True)
    phone_enc: bytes | None = encrypted_field()
    phone_bidx: bytes | None = blind_index_field()
    email_enc: bytes | None = encrypted_field()
    # The bank's own customer number (core banking's CIF number): an identifier of the
    # person, so C2 like the national ID; its unique blind index makes ``cardcrm import
    # customers`` idempotent (migration 0014_customer_number). Null for customers created
    # without one.
    customer_number_enc: bytes | None = encrypted_field()
    customer_number_bidx: bytes | None = blind_index_field(unique=True)
    address_enc: bytes | None = encrypted_field()
    branch_id: uuid.UUID = Field(foreign_key="branches.id", index=True)
    tier_id: uuid.UUID = Field(foreign_key="tiers.id", index=True)
    lifecycle_stage: str = code_field(16, default=LifecycleStage.NEW, index=True)
    risk_grade: str = code_field(2, default=RiskGrade.C, index=True)
    # A risk officer's override holds the grade until it is lifted (models/risk/grade.py).
    risk_grade_overridden: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    credit_score: int = 600
    consent_sms: bool = False
    consent_email: bool = False
    consent_push: bool = False
    consent_phone: bool = False
    do_not_disturb_start: str | None = Field(default=None, max_length=5)
    do_not_disturb_end: str | None = Field(default=None, max_length=5)
    preferred_channel: str | None = code_field(16)
    tags: list[str] = json_list_field()
    segments: list[str] = json_list_field()
    # A supervisor's tier override holds until then; evaluation leaves the tier alone before.
    tier_override_until: datetime | None = timestamp_field()
    # Set when the customer was erased (issue 16): the row stays as a tombstone, so the
    # aggregates, the foreign keys and the audit chain keep pointing at something, but every
    # C2 cell and blind index is gone and the customer's own key destroyed.
    erased_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    version: int = 1


class LifecycleHistory(SQLModel, table=True):
    __tablename__ = "lifecycle_history"

    id: uuid.UUID = id_field()
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    from_stage: str | None = code_field(16)
    to_stage: str = code_field(16, default=LifecycleStage.NEW)
    reason: str = Field(max_length=500)
    recency_days: int | None = None
    frequency: int | None = None
    monetary_cents: int | None = None
    churn_score: float | None = None
    created_at: datetime = created_at_field()
