"""A saved segment: a named customer filter that counts, offers and campaigns refer to.

The filter is stored as the JSON of its validated form
(``resolvers.customers.segment_filter.SegmentFilter.to_json``); who may save, change and use
one is ``resolvers.customers.saved_segments``. Names are unique across the bank: an offer or
a campaign names its audience, and one name must mean one audience.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from models.columns import created_at_field, id_field

NAME_LENGTH = 80
DESCRIPTION_LENGTH = 500


class SavedSegment(SQLModel, table=True):
    __tablename__ = "saved_segments"
    # The list is newest first.
    __table_args__ = (Index("ix_saved_segments_page", "created_at", "id"),)

    id: uuid.UUID = id_field()
    name: str = Field(max_length=NAME_LENGTH, unique=True)
    description: str | None = Field(default=None, max_length=DESCRIPTION_LENGTH)
    filter: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    # The staff member who saved it (a token subject).
    created_by: str = Field(max_length=64)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    version: int = 1
