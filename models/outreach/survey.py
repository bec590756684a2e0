"""Satisfaction surveys (满意度调查): a 0–10 question with a comment, answered in the app.

A survey goes out after a complaint is resolved (rating the agent who resolved it) or with a
campaign's message. The customer answers once; the comment is C2 free text and sealed.
``analytics.service`` reads NPS from the scores: promoters (9–10) minus detractors (0–6).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.columns import created_at_field, encrypted_field, id_field, timestamp_field


class Survey(SQLModel, table=True):
    __tablename__ = "surveys"
    __table_args__ = (
        Index("ix_surveys_customer", "customer_id", "created_at"),
        Index("ix_surveys_answered", "answered_at"),
        Index("ix_surveys_staff_answered", "staff_id", "answered_at"),
        # One survey per resolved complaint, however often it is resolved again.
        Index("uq_surveys_complaint", "complaint_id", unique=True),
    )

    id: uuid.UUID = id_field()
    customer_id: uuid.UUID = Field(foreign_key="customers.id")
    branch_id: uuid.UUID = Field(foreign_key="branches.id")
    campaign_id: uuid.UUID | None = Field(default=None, foreign_key="campaigns.id")
    complaint_id: uuid.UUID | None = Field(default=None, foreign_key="complaints.id")
    # The agent whose service is rated (the complaint's resolver), if any.
    staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    question: str = Field(max_length=300)
    expires_at: datetime = timestamp_field(nullable=False)
    score: int | None = None
    comment_enc: bytes | None = encrypted_field()
    answered_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
