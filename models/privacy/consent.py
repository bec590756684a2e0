"""Every change of a customer's marketing consent, kept as history (PIPL: a consent and its
withdrawal must be provable). The current state stays on the customer row (``consent_*``);
this table says when each channel changed, by whom and through what."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, id_field


class ConsentSource(StrEnum):
    """Where a change came from."""

    APP = "app"  # the customer, in the app (updateMyConsent)
    STAFF = "staff"  # an agent, on the customer's word (updateCustomer)
    ONBOARDING = "onboarding"  # createCustomer or the bulk import
    RETENTION = "retention"  # withdrawn by erasure or the retention job


class ConsentChange(SQLModel, table=True):
    __tablename__ = "consent_changes"
    __table_args__ = (Index("ix_consent_changes_customer", "customer_id", "changed_at", "id"),)

    id: uuid.UUID = id_field()
    customer_id: uuid.UUID = Field(foreign_key="customers.id")
    channel: str = code_field(16)  # sms, email, push, phone
    granted: bool
    source: str = code_field(16)
    actor_id: str = Field(max_length=64)  # the staff id, or the customer's own id
    changed_at: datetime = created_at_field()
