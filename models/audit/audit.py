"""The audit log tables: the keyed hash chain and its signed checkpoints (behaviour in
auth.audit and auth.audit_checkpoint)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from models.columns import created_at_field


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entries"

    # The position in the chain; assigned under a lock, so it has no gaps.
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    actor_kind: str = Field(max_length=16)
    actor_id: str = Field(max_length=64, index=True)
    action: str = Field(max_length=64, index=True)
    target_type: str | None = Field(default=None, max_length=32)
    target_id: str | None = Field(default=None, max_length=64, index=True)
    fields: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    purpose: str | None = Field(default=None, max_length=500)
    request_id: str | None = Field(default=None, max_length=64)
    client_addr: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    created_at: datetime = created_at_field()
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)


class AuditCheckpoint(SQLModel, table=True):
    """A signed statement "the chain had ``entries`` entries ending in this hash at this time"
    (behaviour in auth.audit_checkpoint). ``statement`` is the printable, signed line; the
    other columns repeat it for ordering and are never trusted on their own."""

    __tablename__ = "audit_checkpoints"

    id: int | None = Field(default=None, primary_key=True)
    entries: int = Field(index=True)
    created_at: datetime = created_at_field()
    statement: str = Field(max_length=400)
