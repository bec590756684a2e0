"""Wrapped encryption keys: every data-key version and the blind-index key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel

from models.columns import created_at_field


class EncryptionKey(SQLModel, table=True):
    __tablename__ = "encryption_keys"

    purpose: str = Field(primary_key=True, max_length=16)
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    wrapped_key: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = created_at_field()
