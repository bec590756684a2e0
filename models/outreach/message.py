"""Outbound messages: everything cardcrm sends a customer, queued then delivered by a sender.

Campaigns, surveys and reminders queue rows here in their own transaction; a sender
(``resolvers.outreach.senders``: the development sender that records, or the HTTP sender for
an SMS/push gateway) delivers the due ones. A message inside the customer's do-not-disturb
window waits: ``send_after`` is the end of the window. The body is filled from the
customer's data, so it is C2 and sealed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, encrypted_field, id_field, timestamp_field


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # the sender gave up after its retries
    CANCELLED = "cancelled"  # consent withdrawn before it went out


class OutboundMessage(SQLModel, table=True):
    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_messages_due", "status", "send_after"),
        Index("ix_outbound_messages_customer", "customer_id", "created_at"),
    )

    id: uuid.UUID = id_field()
    customer_id: uuid.UUID = Field(foreign_key="customers.id")
    campaign_id: uuid.UUID | None = Field(default=None, foreign_key="campaigns.id", index=True)
    survey_id: uuid.UUID | None = Field(default=None, foreign_key="surveys.id")
    channel: str = code_field(16, default="sms")
    body_enc: bytes | None = encrypted_field()
    status: str = code_field(16, default=MessageStatus.QUEUED)
    send_after: datetime = timestamp_field(nullable=False)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    # Which sender delivered it, and the gateway's own id for it.
    sender: str | None = Field(default=None, max_length=32)
    provider_message_id: str | None = Field(default=None, max_length=128)
    sent_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
