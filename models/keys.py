"""Wrapped encryption keys: every data-key version, the blind-index key, and each
customer's own data key."""

from __future__ import annotations

import uuid
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


class CustomerKey(SQLModel, table=True):
    """One customer's own data key, wrapped by a data-key version (issue 16, privacy rights).

    Every C2 value about the customer is sealed under this key (``core.encryption``, format
    2), so deleting this row is crypto-shredding: the values can no longer be opened by any
    key, in this database or in a copy of it taken before, once no copy of this row is left.
    That is why the table is kept apart in backups (docs/PRIVACY.md): its rows must not
    outlive the erasure deadline in a backup set.
    """

    __tablename__ = "customer_keys"

    customer_id: uuid.UUID = Field(primary_key=True)
    # The data-key version that wraps it: rotation re-wraps these rows, not the values.
    data_key_version: int
    wrapped_key: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = created_at_field()
