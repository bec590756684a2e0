"""Stored first responses of mutations sent with an ``Idempotency-Key`` header."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import created_at_field, id_field


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: uuid.UUID = id_field()
    principal: str = Field(max_length=100)
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    response: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    created_at: datetime = created_at_field()
