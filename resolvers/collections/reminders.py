"""Repayment reminders (增加还款提醒频次): planned before a statement's due date, set-based.

``plan_reminders(as_of)`` is one ``INSERT … SELECT``: for every statement with a positive
minimum payment, not yet settled and not yet paid (the repayments since its close are below
the minimum), on a card that is not closed, whose due date is N days after ``as_of`` where N
is one of the customer's risk grade's reminder days (``settings.repayment_reminder_days``:
A/B 3; C 7 and 3; D/E 7, 3 and 1), for a customer who consented to a channel: their
preferred channel if they consented to it, else the first they consented to of sms, push,
email, phone. The key (card, cycle end, day) makes planning a day twice write nothing.

``cancel_paid_reminders`` is one ``UPDATE``: planned reminders of statements whose minimum has
been paid are cancelled (after ``remind``, and after a batch of imported repayments).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from models.cards.card import Card, CardStatus
from models.cards.statement import Statement
from models.collections.reminder import ReminderStatus, RepaymentReminder
from models.columns import UTCDateTime, utcnow
from models.customers.customer import ContactChannel, Customer
from models.transactions.transaction import Transaction, TransactionKind
from resolvers.batch_sql import new_uuid

REMIND_ACTION = "collections.remind"
REMINDERS: Table = RepaymentReminder.__table__  # type: ignore[attr-defined]
STATEMENTS: Table = Statement.__table__  # type: ignore[attr-defined]
CARDS: Table = Card.__table__  # type: ignore[attr-defined]
CUSTOMERS: Table = Customer.__table__  # type: ignore[attr-defined]
TRANSACTIONS: Table = Transaction.__table__  # type: ignore[attr-defined]
# Without a consented preferred channel, the first consented of these.
CHANNEL_ORDER = (
    ContactChannel.SMS,
    ContactChannel.PUSH,
    ContactChannel.EMAIL,
    ContactChannel.PHONE,
)


@dataclass(frozen=True)
class RemindSummary:
    as_of: date
    planned: int
    cancelled: int

    def details(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "reminders_planned": self.planned,
            "reminders_cancelled": self.cancelled,
        }

    def line(self) -> str:
        return (
            f"planned {self.planned} repayment reminders as of {self.as_of.isoformat()}; "
            f"cancelled {self.cancelled} (paid)"
        )


def _repaid_since_close(s: Any) -> Any:
    t = TRANSACTIONS.c
    return (
        select(func.coalesce(func.sum(t.amount_cents), 0))
        .where(
            t.card_id == s.card_id,
            t.kind == TransactionKind.REPAYMENT,
            t.occurred_at >= s.closes_at,
        )
        .scalar_subquery()
    )


def _channel(u: Any) -> Any:
    consent = {channel: getattr(u, f"consent_{channel.value}") for channel in CHANNEL_ORDER}
    preferred = [
        (and_(u.preferred_channel == channel.value, consent[channel]), channel.value)
        for channel in CHANNEL_ORDER
    ]
    first = [(consent[channel], channel.value) for channel in CHANNEL_ORDER]
    return case(*preferred, *first, else_=None)


def _schedule(settings: Settings, as_of: date) -> Any:
    """(grade, due_date): the due dates each grade is reminded of on ``as_of``."""
    rows = [
        select(
            literal(grade, String).label("grade"),
            literal(as_of + timedelta(days=days), Date).label("due_date"),
        )
        for grade, all_days in sorted(settings.repayment_reminder_days.items())
        for days in sorted(set(all_days))
    ]
    return union_all(*rows).subquery("schedule")


async def plan_reminders(session: AsyncSession, settings: Settings, as_of: date) -> int:
    """Plans ``as_of``'s reminders (uncommitted); returns how many were new."""
    if not any(settings.repayment_reminder_days.values()):
        return 0
    s, c, u, r = STATEMENTS.c, CARDS.c, CUSTOMERS.c, REMINDERS.c
    schedule = _schedule(settings, as_of)
    channel = _channel(u)
    planned = select(r.id).where(
        r.card_id == s.card_id, r.cycle_end == s.cycle_end, r.remind_on == as_of
    )
    now = literal(utcnow(), UTCDateTime)
    rows = (
        select(
            new_uuid(),
            s.card_id,
            s.cycle_end,
            c.customer_id,
            u.branch_id,
            s.due_date,
            literal(as_of, Date),
            channel,
            cast(s.minimum_payment_cents, BigInteger),
            u.risk_grade,
            literal(ReminderStatus.PLANNED.value),
            now,
        )
        .select_from(
            STATEMENTS.join(CARDS, c.id == s.card_id)
            .join(CUSTOMERS, u.id == c.customer_id)
            .join(
                schedule,
                and_(schedule.c.grade == u.risk_grade, schedule.c.due_date == s.due_date),
            )
        )
        .where(
            s.minimum_payment_cents > 0,
            s.paid_by_due.is_(None),
            c.status != CardStatus.CLOSED.value,
            or_(u.consent_sms, u.consent_push, u.consent_email, u.consent_phone),
            _repaid_since_close(s) < s.minimum_payment_cents,
            ~planned.exists(),
        )
    )
    columns = [
        r.id,
        r.card_id,
        r.cycle_end,
        r.customer_id,
        r.branch_id,
        r.due_date,
        r.remind_on,
        r.channel,
        r.minimum_payment_cents,
        r.risk_grade,
        r.status,
        r.created_at,
    ]
    result = await session.execute(insert(REMINDERS).from_select(columns, rows))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def cancel_paid_reminders(
    session: AsyncSession, card_ids: Collection[uuid.UUID] | None = None
) -> int:
    """Cancels the planned reminders of statements whose minimum is paid (uncommitted)."""
    if card_ids is not None and not card_ids:
        return 0
    s, r = STATEMENTS.c, REMINDERS.c
    paid = (
        select(s.card_id)
        .where(
            s.card_id == r.card_id,
            s.cycle_end == r.cycle_end,
            _repaid_since_close(s) >= s.minimum_payment_cents,
        )
        .exists()
    )
    among = true() if card_ids is None else r.card_id.in_(sorted(card_ids))
    result = await session.execute(
        update(REMINDERS)
        .where(r.status == ReminderStatus.PLANNED.value, among, paid)
        .values(status=ReminderStatus.CANCELLED.value)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def remind(session: AsyncSession, settings: Settings, as_of: date) -> RemindSummary:
    """``cardcrm collections remind``: cancels what is paid, then plans ``as_of``'s."""
    cancelled = await cancel_paid_reminders(session)
    planned = await plan_reminders(session, settings, as_of)
    return RemindSummary(as_of, planned, cancelled)
