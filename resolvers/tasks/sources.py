"""Where staff tasks come from: one ``SELECT`` per kind of the rows ``cardcrm tasks
generate`` inserts (see resolvers/tasks/generation.py for what each kind is), over the
tables of the domains the facts live in, read as tables."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import JSON, Date, Select, String, Table, cast, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.encryption import KeyRing
from core.settings import Settings
from models.cards.card import Card, CardStatus
from models.collections.reminder import ReminderStatus, RepaymentReminder
from models.columns import UTCDateTime, utcnow
from models.customers.customer import Customer, LifecycleHistory, LifecycleStage
from models.customers.identifiers import BIRTHDAY_INDEX, birthday_key
from models.growth.customer_metrics import CustomerMetrics
from models.growth.offer import AssignmentStatus, Offer, OfferAssignment, OfferStatus
from models.growth.tier import Tier
from models.service_desk.complaint import Complaint, ComplaintStatus
from models.tasks.task import StaffTask, TaskKind, TaskStatus
from resolvers.batch_sql import new_uuid
from resolvers.tasks.sql import json_ids, local_day_plus, local_day_window

TASKS: Table = StaffTask.__table__  # type: ignore[attr-defined]
CUSTOMERS: Table = Customer.__table__  # type: ignore[attr-defined]
COMPLAINTS: Table = Complaint.__table__  # type: ignore[attr-defined]
CARDS: Table = Card.__table__  # type: ignore[attr-defined]
HISTORY: Table = LifecycleHistory.__table__  # type: ignore[attr-defined]
METRICS: Table = CustomerMetrics.__table__  # type: ignore[attr-defined]
OFFERS: Table = Offer.__table__  # type: ignore[attr-defined]
ASSIGNMENTS: Table = OfferAssignment.__table__  # type: ignore[attr-defined]
TIERS: Table = Tier.__table__  # type: ignore[attr-defined]
REMINDERS: Table = RepaymentReminder.__table__  # type: ignore[attr-defined]
OPEN_OFFER_STATES = (AssignmentStatus.TARGETED, AssignmentStatus.VIEWED, AssignmentStatus.ACCEPTED)

# What the inserted SELECTs give, in this order (``_Run._row``).
_COLUMNS = (
    "id",
    "kind",
    "customer_id",
    "branch_id",
    "status",
    "due_on",
    "source_key",
    "reasons",
    "offer_ids",
    "complaint_id",
    "card_id",
    "reminder_id",
    "created_at",
    "updated_at",
    "version",
)


def _consented(u: Any) -> Any:
    return or_(u.consent_sms, u.consent_email, u.consent_push, u.consent_phone)


class Sources:
    """The statements of one run: the day, its window, the clock and the settings."""

    def __init__(self, session: AsyncSession, settings: Settings, ring: KeyRing, as_of: date):
        self.session = session
        self.settings = settings
        self.ring = ring
        self.as_of = as_of
        self.first = as_of - timedelta(days=settings.task_lookback_days)
        self.now = utcnow()
        self.dialect = session.get_bind().dialect.name

    def due(self, kind: TaskKind) -> int:
        return self.settings.task_due_days.get(kind.value, 0)

    def _window(self, column: Any) -> Any:
        return local_day_window(column, self.first, self.as_of, self.settings.contact_timezone)

    def _due_after(self, column: Any, kind: TaskKind) -> Any:
        return local_day_plus(
            column, self.first, self.as_of, self.settings.contact_timezone, self.due(kind)
        )

    def _row(
        self,
        kind: TaskKind,
        *,
        customer: Any,
        branch: Any,
        due: Any,
        key: Any,
        reasons: Any = None,
        offers: Any = None,
        complaint: Any = None,
        card: Any = None,
        reminder: Any = None,
    ) -> list[Any]:
        stamp = literal(self.now, UTCDateTime)
        nothing = literal(None, String)
        return [
            new_uuid(),
            literal(kind.value),
            customer,
            branch,
            literal(TaskStatus.OPEN.value),
            due,
            literal(f"{kind.value}:") + cast(key, String),
            reasons if reasons is not None else literal([], JSON),
            offers if offers is not None else literal([], JSON),
            complaint if complaint is not None else cast(nothing, TASKS.c.complaint_id.type),
            card if card is not None else cast(nothing, TASKS.c.card_id.type),
            reminder if reminder is not None else cast(nothing, TASKS.c.reminder_id.type),
            stamp,
            stamp,
            literal(1),
        ]

    async def insert(self, query: Select[Any]) -> int:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        statement = (
            dialect.insert(TASKS)
            .from_select(list(_COLUMNS), query)
            .on_conflict_do_nothing(index_elements=[TASKS.c.source_key])
        )
        result = await self.session.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]

    def on_day(self, days: int = 0) -> Any:
        return literal(self.as_of + timedelta(days=days), Date)

    def complaint_follow_ups(self) -> Select[Any]:
        c, u = COMPLAINTS.c, CUSTOMERS.c
        kind = TaskKind.COMPLAINT_FOLLOW_UP
        return (
            select(
                *self._row(
                    kind,
                    customer=c.customer_id,
                    branch=u.branch_id,
                    due=self._due_after(c.resolved_at, kind),
                    key=c.id,
                    reasons=literal(["complaint_resolved"], JSON),
                    complaint=c.id,
                    card=c.card_id,
                )
            )
            .select_from(COMPLAINTS.join(CUSTOMERS, u.id == c.customer_id))
            .where(
                u.erased_at.is_(None),  # nobody calls back an erased customer
                c.status.in_([ComplaintStatus.RESOLVED.value, ComplaintStatus.CLOSED.value]),
                c.resolved_at.is_not(None),
                self._window(c.resolved_at),
            )
        )

    def new_card_follow_ups(self) -> Select[Any]:
        k, u = CARDS.c, CUSTOMERS.c
        kind = TaskKind.NEW_CARD_FOLLOW_UP
        return (
            select(
                *self._row(
                    kind,
                    customer=k.customer_id,
                    branch=u.branch_id,
                    due=self._due_after(k.issued_at, kind),
                    key=k.id,
                    reasons=literal(["card_issued"], JSON),
                    card=k.id,
                )
            )
            .select_from(CARDS.join(CUSTOMERS, u.id == k.customer_id))
            .where(
                k.issued_at.is_not(None),
                self._window(k.issued_at),
                k.status != CardStatus.CLOSED.value,
            )
        )

    def birthday_care(self) -> Select[Any]:
        u = CUSTOMERS.c
        kind = TaskKind.BIRTHDAY_CARE
        days = [birthday_key(self.as_of)]
        leap_day_elsewhere = self.as_of.month == 2 and self.as_of.day == 28
        if leap_day_elsewhere and (self.as_of + timedelta(days=1)).month == 3:
            days.append("02-29")
        digests = [self.ring.blind_index(BIRTHDAY_INDEX, day) for day in days]
        key = cast(u.id, String) + literal(f":{self.as_of.year}")
        return select(
            *self._row(
                kind,
                customer=u.id,
                branch=u.branch_id,
                due=self.on_day(self.due(kind)),
                key=key,
                reasons=literal(["birthday"], JSON),
            )
        ).where(u.birthday_bidx.in_(digests), _consented(u))

    def holiday_care(self) -> Select[Any] | None:
        day = birthday_key(self.as_of)
        tiers = self.settings.task_holiday_tiers
        if day not in self.settings.task_holiday_days or not tiers:
            return None
        u, t = CUSTOMERS.c, TIERS.c
        kind = TaskKind.HOLIDAY_CARE
        key = cast(u.id, String) + literal(f":{self.as_of.isoformat()}")
        return (
            select(
                *self._row(
                    kind,
                    customer=u.id,
                    branch=u.branch_id,
                    due=self.on_day(self.due(kind)),
                    key=key,
                    reasons=literal([f"holiday:{day}"], JSON),
                )
            )
            .select_from(CUSTOMERS.join(TIERS, t.id == u.tier_id))
            .where(t.code.in_(list(tiers)), _consented(u))
        )

    def _open_offers(self, customer: Any) -> Any:
        a, o = ASSIGNMENTS.c, OFFERS.c
        return (
            select(json_ids(a.offer_id))
            .select_from(ASSIGNMENTS.join(OFFERS, o.id == a.offer_id))
            .where(
                a.customer_id == customer,
                a.status.in_([state.value for state in OPEN_OFFER_STATES]),
                o.status == OfferStatus.ACTIVE.value,
                o.ends_at > self.now,
            )
            .scalar_subquery()
        )

    def turned(self, kind: TaskKind, stage: LifecycleStage) -> Select[Any]:
        """Customers whose stage turned ``stage`` in the window and still is, once per turn,
        and not while an open task of the kind is theirs already."""
        h, u, m, t = HISTORY.c, CUSTOMERS.c, METRICS.c, TASKS.c
        reasons = select(m.churn_reasons).where(m.customer_id == u.id).scalar_subquery()
        pending = select(t.id).where(
            t.customer_id == u.id, t.kind == kind.value, t.status == TaskStatus.OPEN.value
        )
        return (
            select(
                *self._row(
                    kind,
                    customer=u.id,
                    branch=u.branch_id,
                    due=self._due_after(h.created_at, kind),
                    key=h.id,
                    reasons=func.coalesce(reasons, literal([], JSON)),
                    offers=self._open_offers(u.id),
                )
            )
            .select_from(HISTORY.join(CUSTOMERS, u.id == h.customer_id))
            .where(
                u.erased_at.is_(None),
                h.to_stage == stage.value,
                self._window(h.created_at),
                u.lifecycle_stage == stage.value,
                ~pending.exists(),
            )
        )

    def repayment_reminders(self) -> Select[Any]:
        r = REMINDERS.c
        kind = TaskKind.REPAYMENT_REMINDER
        return select(
            *self._row(
                kind,
                customer=r.customer_id,
                branch=r.branch_id,
                due=self.on_day(self.due(kind)),
                key=r.id,
                reasons=literal(["repayment_due"], JSON),
                card=r.card_id,
                reminder=r.id,
            )
        ).where(
            r.remind_on == self.as_of,
            r.status == ReminderStatus.PLANNED.value,
            r.channel == "phone",
        )

    def queries(self) -> list[tuple[TaskKind, Select[Any] | None]]:
        return [
            (TaskKind.COMPLAINT_FOLLOW_UP, self.complaint_follow_ups()),
            (TaskKind.NEW_CARD_FOLLOW_UP, self.new_card_follow_ups()),
            (TaskKind.BIRTHDAY_CARE, self.birthday_care()),
            (TaskKind.HOLIDAY_CARE, self.holiday_care()),
            (TaskKind.RETENTION, self.turned(TaskKind.RETENTION, LifecycleStage.AT_RISK)),
            (TaskKind.REACTIVATION, self.turned(TaskKind.REACTIVATION, LifecycleStage.DORMANT)),
            (TaskKind.REPAYMENT_REMINDER, self.repayment_reminders()),
        ]
