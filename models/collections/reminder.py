"""Repayment reminders (增加还款提醒频次): outreach planned before a statement's due date.

``cardcrm collections remind --as-of DATE`` plans them set-based for customers who consented
to the channel: more reminders, earlier, for worse risk grades. The key (statement, day)
makes planning the same day twice write nothing; the staff task queue takes them over.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, id_field, timestamp_field


class ReminderStatus(StrEnum):
    PLANNED = "planned"
    SENT = "sent"
    CANCELLED = "cancelled"  # paid before the reminder went out


class RepaymentReminder(SQLModel, table=True):
    __tablename__ = "repayment_reminders"
    __table_args__ = (
        Index("uq_repayment_reminders_once", "card_id", "cycle_end", "remind_on", unique=True),
        Index("ix_repayment_reminders_branch_day", "branch_id", "remind_on"),
    )

    id: uuid.UUID = id_field()
    card_id: uuid.UUID = Field(foreign_key="cards.id")
    cycle_end: date  # the statement's key, with the card
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    branch_id: uuid.UUID = Field(foreign_key="branches.id")
    due_date: date
    remind_on: date
    channel: str = code_field(16, default="sms")
    minimum_payment_cents: int = Field(default=0, sa_type=BigInteger)
    risk_grade: str = code_field(2, default="C")
    status: str = code_field(16, default=ReminderStatus.PLANNED)
    sent_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
