"""A card's history: one append-only row per change of status (who, why, when).

The reason is free text and may name people or places, so it is C2 and sealed
(``reason_enc``), like a complaint's timeline note.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, encrypted_field, id_field


class CardEvent(SQLModel, table=True):
    """One line of a card's history; rows are only ever inserted."""

    __tablename__ = "card_events"
    # A card's history loads newest first (its loader).
    __table_args__ = (Index("ix_card_events_card_order", "card_id", "created_at", "id"),)

    id: uuid.UUID = id_field()
    card_id: uuid.UUID = Field(foreign_key="cards.id")
    action: str = code_field(32, default="activate")
    actor_kind: str = code_field(16, default="staff")
    actor_id: str = Field(max_length=64)
    from_status: str | None = code_field(16)
    to_status: str | None = code_field(16)
    reason_enc: bytes | None = encrypted_field()
    created_at: datetime = created_at_field()
