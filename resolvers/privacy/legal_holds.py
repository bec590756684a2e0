"""The legal holds on erasing a customer (issue 16, privacy rights), computed set-based.

Each hold is a stable code:

- ``OPEN_BALANCE``: a card not closed (issued, active or frozen; a card reported lost or
  stolen is blocked, which ends it like a close), or a card whose account is not settled:
  days past due, or a balance other than zero (purchases − refunds − repayments over its
  life, which is what its statements carry forward: resolvers/cards/statements.py); a credit
  balance is the bank's debt to the customer, to be paid out before they are erased.
- ``OPEN_DISPUTE``: a complaint not resolved or closed, a risk alert still open or escalated,
  or a collection case not closed.
- ``RETENTION_PERIOD``: the relationship ended (its last card closed or blocked, its last
  transaction) less than ``privacy_retention_years`` years before, or has not ended. A customer
  who never had a card has no retention hold.

Every rule is an SQL condition on a customer id column, so one query answers for a whole
page of customers (``holds_of``) and the retention job selects every erasable customer in one
statement (``resolvers.privacy.retention``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.request_database import RequestDatabase
from models.cards.card import Card, CardStatus
from models.cards.history import CardEvent
from models.collections.case import CollectionCase, CollectionStatus
from models.columns import UTCDateTime
from models.customers.customer import Customer
from models.risk.alert import AlertStatus, RiskAlert
from models.service_desk.complaint import Complaint, ComplaintStatus
from models.transactions.transaction import Transaction, TransactionKind


class LegalHold(StrEnum):
    OPEN_BALANCE = "OPEN_BALANCE"
    OPEN_DISPUTE = "OPEN_DISPUTE"
    RETENTION_PERIOD = "RETENTION_PERIOD"


CARDS: Table = Card.__table__  # type: ignore[attr-defined]
TRANSACTIONS: Table = Transaction.__table__  # type: ignore[attr-defined]
CARD_EVENTS: Table = CardEvent.__table__  # type: ignore[attr-defined]
# A card in one of these has ended: closed, or blocked (lost or stolen, replaced by a new one).
ENDED = (CardStatus.CLOSED.value, CardStatus.BLOCKED.value)
_SETTLED_COMPLAINT = (ComplaintStatus.RESOLVED.value, ComplaintStatus.CLOSED.value)
_OPEN_ALERT = (AlertStatus.OPEN.value, AlertStatus.ESCALATED.value)


def years_before(moment: datetime, years: int) -> datetime:
    """The same instant ``years`` calendar years earlier (29 February → 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def _balance_cents(card: Any) -> Any:
    """A card's balance: its purchases, less its refunds and repayments, over its life."""
    t = TRANSACTIONS.c
    signed = case((t.kind == TransactionKind.PURCHASE.value, t.amount_cents), else_=-t.amount_cents)
    return select(func.coalesce(func.sum(signed), 0)).where(t.card_id == card.id).scalar_subquery()


def open_balance(customer_id: Any) -> ColumnElement[bool]:
    card = CARDS.alias("held_card")
    return exists(
        select(card.c.id).where(
            card.c.customer_id == customer_id,
            or_(
                card.c.status.not_in(ENDED),
                card.c.days_past_due > 0,
                _balance_cents(card.c) != 0,
            ),
        )
    )


def open_dispute(customer_id: Any) -> ColumnElement[bool]:
    return or_(
        exists(
            select(col(Complaint.id)).where(
                col(Complaint.customer_id) == customer_id,
                col(Complaint.status).not_in(_SETTLED_COMPLAINT),
            )
        ),
        exists(
            select(col(RiskAlert.id)).where(
                col(RiskAlert.customer_id) == customer_id, col(RiskAlert.status).in_(_OPEN_ALERT)
            )
        ),
        exists(
            select(col(CollectionCase.id)).where(
                col(CollectionCase.customer_id) == customer_id,
                col(CollectionCase.status) != CollectionStatus.CLOSED.value,
            )
        ),
    )


def had_card(customer_id: Any) -> ColumnElement[bool]:
    card = CARDS.alias("any_card")
    return exists(select(card.c.id).where(card.c.customer_id == customer_id))


def active_since(customer_id: Any, cutoff: datetime) -> ColumnElement[bool]:
    """The relationship has not ended, or ended after ``cutoff``: a card still open, a card
    closed or blocked after it (its history, or its last change when the history has no such
    line), or a transaction after it."""
    since = literal(cutoff, UTCDateTime())
    card = CARDS.alias("kept_card")
    event = CARD_EVENTS.alias("kept_event")
    t = TRANSACTIONS.alias("kept_transaction")
    of_customer = card.c.customer_id == customer_id
    return or_(
        exists(select(card.c.id).where(of_customer, card.c.status.not_in(ENDED))),
        exists(
            select(card.c.id).where(
                of_customer, card.c.status.in_(ENDED), card.c.updated_at > since
            )
        ),
        exists(
            select(event.c.id)
            .join(card, card.c.id == event.c.card_id)
            .where(of_customer, event.c.to_status.in_(ENDED), event.c.created_at > since)
        ),
        exists(
            select(t.c.id)
            .join(card, card.c.id == t.c.card_id)
            .where(of_customer, t.c.occurred_at > since)
        ),
    )


def retention_hold(customer_id: Any, cutoff: datetime) -> ColumnElement[bool]:
    return and_(had_card(customer_id), active_since(customer_id, cutoff))


def retention_cutoff(retention_years: int, now: datetime) -> datetime:
    return years_before(now, retention_years)


async def holds_of(
    session: AsyncSession | RequestDatabase,
    customer_ids: Collection[uuid.UUID],
    *,
    retention_years: int,
    now: datetime,
) -> dict[uuid.UUID, list[str]]:
    """Each customer's legal holds now, in ``LegalHold`` order (one query for them all)."""
    if not customer_ids:
        return {}
    customer = col(Customer.id)
    cutoff = retention_cutoff(retention_years, now)
    rows = await session.execute(
        select(
            customer,
            open_balance(customer).label("balance"),
            open_dispute(customer).label("dispute"),
            retention_hold(customer, cutoff).label("retention"),
        ).where(customer.in_(sorted(customer_ids)))
    )
    holds: dict[uuid.UUID, list[str]] = {}
    for row in rows:
        found = zip(LegalHold, (row.balance, row.dispute, row.retention), strict=True)
        holds[row.id] = [hold.value for hold, held in found if held]
    return holds


def erasable(cutoff: datetime) -> ColumnElement[bool]:
    """The customers the retention job erases: not erased yet, nothing owed or disputed, and
    a relationship that ended before ``cutoff`` (or, with no card ever, created before it)."""
    customer = col(Customer.id)
    return and_(
        col(Customer.erased_at).is_(None),
        ~open_balance(customer),
        ~open_dispute(customer),
        or_(
            and_(had_card(customer), ~active_since(customer, cutoff)),
            and_(~had_card(customer), col(Customer.created_at) < literal(cutoff, UTCDateTime())),
        ),
    )
