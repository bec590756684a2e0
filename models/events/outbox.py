"""The transactional outbox and the webhook subscriptions that drain it (issue 16, events out).

An ``OutboxEvent`` is written in the same transaction as the change it tells of (through
``auth.outbox``), so an event exists exactly when its change was committed. ``seq`` is the
order: outbox rows are inserted under one database lock held until commit
(``auth.outbox``), so a higher ``seq`` is never committed before a lower one and a reader's
cursor never skips a row. ``event_id`` is the public id (the webhook-id receivers dedupe on).

A ``WebhookSubscription`` belongs to one OAuth client; ``cursor`` is the ``seq`` of the last
event it is done with (delivered or dead-lettered). A worker takes the subscription's lease
(``lease_owner``, ``leased_until``) with a conditional UPDATE before delivering, so several
workers never deliver the same subscription at once; a crashed worker's lease runs out and
another resumes from the committed cursor.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer
from sqlmodel import Field, SQLModel

from models.columns import (
    code_field,
    created_at_field,
    encrypted_field,
    id_field,
    new_id,
    timestamp_field,
)

# SQLite numbers rows itself only for an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_aggregate", "aggregate_type", "aggregate_id", "seq"),)

    seq: int | None = Field(
        default=None, primary_key=True, sa_type=SEQUENCE, sa_column_kwargs={"autoincrement": True}
    )
    event_id: uuid.UUID = Field(default_factory=new_id, unique=True)
    type: str = Field(max_length=64, index=True)
    schema_version: int = 1
    aggregate_type: str = Field(max_length=32)
    aggregate_id: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    occurred_at: datetime = created_at_field()


class SubscriptionStatus:
    ACTIVE = "active"
    DELETED = "deleted"


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscriptions"

    id: uuid.UUID = id_field()
    client_id: str = Field(max_length=64, index=True)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    # The signing secret (whsec_…), shown once at creation; sealed like any C2 cell.
    secret_enc: bytes | None = encrypted_field()
    status: str = code_field(16, default=SubscriptionStatus.ACTIVE, index=True)
    cursor: int = Field(default=0, sa_type=BigInteger)
    # Failed attempts at the event after the cursor, and when the next one is due.
    attempts: int = 0
    next_attempt_at: datetime | None = timestamp_field()
    last_error: str | None = Field(default=None, max_length=500)
    lease_owner: str | None = Field(default=None, max_length=100)
    leased_until: datetime | None = timestamp_field()
    created_by: str = Field(max_length=100)
    created_at: datetime = created_at_field()


class WebhookDeadLetter(SQLModel, table=True):
    """An event a subscription gave up on after the configured number of attempts."""

    __tablename__ = "webhook_dead_letters"
    __table_args__ = (Index("ix_webhook_dead_letters_sub", "subscription_id", "event_seq"),)

    id: uuid.UUID = id_field()
    subscription_id: uuid.UUID = Field(foreign_key="webhook_subscriptions.id")
    event_seq: int = Field(sa_type=BigInteger)
    event_id: uuid.UUID
    attempts: int
    last_error: str = Field(max_length=500)
    created_at: datetime = created_at_field()
