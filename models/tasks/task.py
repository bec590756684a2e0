"""Staff tasks: the work queue that ``cardcrm tasks generate`` fills every day.

Each task is one thing to do for one customer — a follow-up visit (回访) after a resolved
complaint or a new card, birthday or holiday care (关怀), a retention call for a customer who
turned at-risk (with the churn reasons and the offers they may take), a reactivation call
for a dormant customer, a repayment reminder call. ``source_key`` names the fact that caused
it, so generating the same day twice writes nothing. Completing a task logs the interaction
it was, and points at it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, id_field, json_list_field, timestamp_field


class TaskKind(StrEnum):
    COMPLAINT_FOLLOW_UP = "complaint_follow_up"
    NEW_CARD_FOLLOW_UP = "new_card_follow_up"
    BIRTHDAY_CARE = "birthday_care"
    HOLIDAY_CARE = "holiday_care"
    RETENTION = "retention"
    REACTIVATION = "reactivation"
    REPAYMENT_REMINDER = "repayment_reminder"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class StaffTask(SQLModel, table=True):
    __tablename__ = "staff_tasks"
    __table_args__ = (
        Index("ix_staff_tasks_assignee_queue", "assignee_id", "status", "due_on"),
        Index("ix_staff_tasks_branch_queue", "branch_id", "status", "due_on"),
        Index("ix_staff_tasks_customer", "customer_id", "created_at"),
    )

    id: uuid.UUID = id_field()
    kind: str = code_field(32, default=TaskKind.RETENTION)
    customer_id: uuid.UUID = Field(foreign_key="customers.id")
    branch_id: uuid.UUID = Field(foreign_key="branches.id")
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    status: str = code_field(16, default=TaskStatus.OPEN)
    due_on: date
    # The fact that caused it, e.g. "retention:<customer>:2026-12-06"; unique.
    source_key: str = Field(max_length=160, unique=True)
    # Why (the churn reasons of a retention task) and what to offer (offer ids).
    reasons: list[str] = json_list_field()
    offer_ids: list[str] = json_list_field()
    complaint_id: uuid.UUID | None = Field(default=None, foreign_key="complaints.id")
    card_id: uuid.UUID | None = Field(default=None, foreign_key="cards.id")
    reminder_id: uuid.UUID | None = Field(default=None, foreign_key="repayment_reminders.id")
    interaction_id: uuid.UUID | None = Field(default=None, foreign_key="interactions.id")
    completed_at: datetime | None = timestamp_field()
    completed_by: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    version: int = 1
