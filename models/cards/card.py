"""Cards. Only the encrypted PAN, its BIN (first 6) and last 4 are kept (SPEC §2)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.columns import (
    blind_index_field,
    code_field,
    created_at_field,
    encrypted_field,
    id_field,
    timestamp_field,
)


class CardStatus(StrEnum):
    """Where a card is in its life (resolvers/cards/workflow.py moves it). ACTIVATED is the
    active state: its stored value and GraphQL name predate the workflow and stay."""

    ISSUED = "issued"
    ACTIVATED = "activated"
    FROZEN = "frozen"
    CLOSED = "closed"
    BLOCKED = "blocked"  # reported lost or stolen; a replacement card is issued


# The blind-index key of a PAN (``Card.pan_bidx``): cards are issued with customers and matched
# by PAN when transaction files are imported.
PAN_INDEX = "pan"


class Card(SQLModel, table=True):
    __tablename__ = "cards"
    # A customer's cards load oldest first (their loaders).
    __table_args__ = (Index("ix_cards_customer_order", "customer_id", "created_at", "id"),)

    id: uuid.UUID = id_field()
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    product: str = Field(max_length=64)
    pan_enc: bytes | None = encrypted_field()
    pan_bidx: bytes | None = blind_index_field(unique=True)
    bin: str = Field(max_length=8)
    last4: str = Field(max_length=4)
    credit_limit_cents: int = 0
    status: str = code_field(16, default=CardStatus.ISSUED)
    issued_at: datetime | None = timestamp_field()
    activated_at: datetime | None = timestamp_field()
    # A card reported lost or stolen is replaced: the new card names the old (``replaces_id``),
    # the old the new (``replaced_by_id``).
    replaces_id: uuid.UUID | None = Field(default=None, foreign_key="cards.id")
    replaced_by_id: uuid.UUID | None = Field(default=None, foreign_key="cards.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    version: int = 1
    # Statements and overdue standing (models/cards/statement.py, resolvers/cards/statements.py).
    statement_day: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    due_days: int = Field(default=20, sa_column_kwargs={"server_default": "20"})
    days_past_due: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    overdue_bucket: str = Field(
        default="current", max_length=8, sa_column_kwargs={"server_default": "current"}
    )
