"""Column types shared by every table: encrypted cells, blind indexes, UTC timestamps.

Which columns are C2 (encrypted) is declared here, on the column itself
(``info={"encrypted": True}``), so key rotation, re-encryption and the "no clear value in a
dump" test all find them from the metadata instead of from a hand-kept list.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, LargeBinary, MetaData, String, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field

ENCRYPTED = "encrypted"
BLIND_INDEX = "blind_index"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database.

    SQLite keeps no offset, so values are stored as naive UTC and given their zone back on
    load; a naive datetime handed in is refused rather than silently taken as local time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # asyncpg's usual answer: nothing to do
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def id_field() -> Any:
    return Field(default_factory=new_id, primary_key=True)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def timestamp_field(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def code_field(length: int = 32, *, default: str | None = None, index: bool = False) -> Any:
    """A short enum-like string; stored as VARCHAR so adding a value needs no type migration."""
    return Field(default=default, sa_type=String(length), nullable=default is None, index=index)


def json_list_field() -> Any:
    return Field(default_factory=list, sa_type=JSON, nullable=False)


def encrypted_field() -> Any:
    """A C2 cell: AES-256-GCM ciphertext (see core.encryption), never clear text."""
    return Field(default=None, sa_type=LargeBinary, sa_column_kwargs={"info": {ENCRYPTED: True}})


def blind_index_field(*, unique: bool = False) -> Any:
    """Keyed HMAC of a normalised C2 value, for exact-match lookups without decrypting."""
    info = {"info": {BLIND_INDEX: True}}
    if unique:
        return Field(default=None, sa_type=LargeBinary, unique=True, sa_column_kwargs=info)
    return Field(default=None, sa_type=LargeBinary, index=True, sa_column_kwargs=info)


def encrypted_columns(metadata: MetaData) -> Iterator[tuple[Table, str]]:
    """Every (table, column name) that holds ciphertext, in a stable order."""
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        for column in table.columns:
            if column.info.get(ENCRYPTED):
                yield table, column.name
