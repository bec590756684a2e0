"""Collection cases (催收): one per overdue card, and every collection contact made on one.

A case is opened for a card when its standing goes past due (``statements close``) and closed
when the card is current again (a repayment that cures it, or a later close). At most one
case per card is not closed: a partial unique index on both databases. A contact is an
interaction of kind ``collection`` (its notes sealed there) with a structured outcome here;
a promise to pay carries its amount and date, and a promise whose date passes unkept sends
the case back to the collectors' attention (``broken_promises`` counts them).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, text
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, id_field, timestamp_field


class CollectionStatus(StrEnum):
    OPEN = "open"  # needs a collector's attention (new, or a promise was broken)
    PROMISED = "promised"  # the customer promised to pay by a date; wait for it
    CLOSED = "closed"


class CollectionCloseReason(StrEnum):
    CURED = "cured"  # the card is current again
    CARD_CLOSED = "card_closed"
    WRITTEN_OFF = "written_off"


class ContactOutcome(StrEnum):
    REACHED = "reached"
    PROMISE_TO_PAY = "promise_to_pay"
    REFUSED = "refused"
    WRONG_NUMBER = "wrong_number"
    NO_ANSWER = "no_answer"


OPEN_CASE = text("status <> 'closed'")


class CollectionCase(SQLModel, table=True):
    __tablename__ = "collection_cases"
    __table_args__ = (
        # A branch's cases newest first; the queue filters by status and bucket.
        Index("ix_collection_cases_branch_order", "branch_id", "opened_at", "id"),
        Index("ix_collection_cases_status_bucket", "status", "bucket"),
        Index(
            "uq_collection_cases_one_open",
            "card_id",
            unique=True,
            sqlite_where=OPEN_CASE,
            postgresql_where=OPEN_CASE,
        ),
    )

    id: uuid.UUID = id_field()
    card_id: uuid.UUID = Field(foreign_key="cards.id")
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    branch_id: uuid.UUID = Field(foreign_key="branches.id")
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id", index=True)
    status: str = code_field(16, default=CollectionStatus.OPEN)
    # The card's standing, kept up to date while the case is open (OverdueBucket values).
    bucket: str = code_field(8, default="m1")
    opening_bucket: str = code_field(8, default="m1")
    days_past_due: int = 0
    # What the card owed when the case was opened and what is still overdue now (unpaid
    # minimum payments of the missed statements), in fen.
    overdue_cents: int = Field(default=0, sa_type=BigInteger)
    promise_amount_cents: int | None = Field(default=None, sa_type=BigInteger)
    promise_date: date | None = None
    broken_promises: int = 0
    last_contact_at: datetime | None = timestamp_field()
    opened_at: datetime = created_at_field()
    closed_at: datetime | None = timestamp_field()
    close_reason: str | None = code_field(16)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    version: int = 1


class CollectionContact(SQLModel, table=True):
    """One collection contact; rows are only ever inserted. The contact rules count these
    per customer and local day."""

    __tablename__ = "collection_contacts"
    __table_args__ = (
        Index("ix_collection_contacts_customer_time", "customer_id", "occurred_at"),
        Index("ix_collection_contacts_case_order", "case_id", "occurred_at", "id"),
    )

    id: uuid.UUID = id_field()
    case_id: uuid.UUID = Field(foreign_key="collection_cases.id")
    customer_id: uuid.UUID = Field(foreign_key="customers.id")
    interaction_id: uuid.UUID = Field(foreign_key="interactions.id")
    staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    outcome: str = code_field(16, default=ContactOutcome.REACHED)
    promise_amount_cents: int | None = Field(default=None, sa_type=BigInteger)
    promise_date: date | None = None
    occurred_at: datetime = timestamp_field(nullable=False)
    created_at: datetime = created_at_field()
