"""Card statements (bills) and the overdue standing they give a card.

A statement is closed once per card and cycle by ``cardcrm statements close``
(resolvers/cards/statements.py); its key is (card, cycle end), so closing the same day twice
writes nothing new. ``opens_at``/``closes_at`` are the cycle's instants (UTC, the bank's local
midnight), so the next cycle opens exactly where this one closed; ``due_ends_at`` is the end of
the local due day. ``paid_by_due`` is set once the due date has passed: whether the
repayments from the statement's close to the end of its due day reached its minimum payment.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.columns import created_at_field, timestamp_field

# A card's cycle day and grace period when nothing else says: statement days are spread over
# the month by card id so the bank's month-end is not one huge close (see ``cycle_day_for``).
DEFAULT_STATEMENT_DAY = 1
DEFAULT_DUE_DAYS = 20
LAST_STATEMENT_DAY = 28  # every month has it


class OverdueBucket(StrEnum):
    """Days past due in 30-day steps: M1 is 1–30 days, M6 151–180, M6+ beyond."""

    CURRENT = "current"
    M1 = "m1"
    M2 = "m2"
    M3 = "m3"
    M4 = "m4"
    M5 = "m5"
    M6 = "m6"
    M6_PLUS = "m6_plus"


def cycle_day_for(card_id: uuid.UUID) -> int:
    """A new card's statement day (1–28), fixed by its id."""
    return 1 + card_id.int % LAST_STATEMENT_DAY


class Statement(SQLModel, table=True):
    __tablename__ = "statements"
    # A card's statements page newest first; the due-date pass finds the unsettled ones.
    __table_args__ = (Index("ix_statements_due", "due_date", "paid_by_due"),)

    card_id: uuid.UUID = Field(foreign_key="cards.id", primary_key=True)
    cycle_end: date = Field(primary_key=True)
    cycle_start: date
    opens_at: datetime | None = timestamp_field()
    closes_at: datetime = timestamp_field(nullable=False)
    previous_balance_cents: int
    purchases_cents: int
    refunds_cents: int
    repayments_cents: int
    balance_cents: int
    minimum_payment_cents: int
    due_date: date
    due_ends_at: datetime = timestamp_field(nullable=False)
    paid_by_due: bool | None = None
    # The card's overdue bucket as this statement closed (OverdueBucket): a card's
    # statements give its month-by-month standing, which roll rates read.
    overdue_bucket: str | None = Field(default=None, max_length=8)
    created_at: datetime = created_at_field()
