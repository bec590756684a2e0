"""The fraud and risk alert rules, run set-based on every written batch of transactions.

Each rule is one ``INSERT … SELECT`` over the batch's booked purchases (named by one bound
array, ``rules_sql.among``) joined to their card, customer and history, with ``ON CONFLICT
(natural_key) DO NOTHING RETURNING id``: a re-import, or ``cardcrm risk scan`` over the same
range, raises nothing twice, and the ids returned are the alerts raised now (published to
``riskAlertRaised`` once the batch has committed). The thresholds are ``Settings.risk_*``.

- VELOCITY: the purchase at which a card reaches N purchases within M minutes. Only the first
  such purchase of a burst raises (one whose window holds no earlier purchase that reached N),
  so a burst of any length is one alert (key: the triggering transaction).
- AMOUNT_SPIKE: a purchase in the home currency of at least the floor and K times the
  customer's usual purchase (``customer_metrics``: monetary / frequency, once frequency is at
  least the minimum).
- UNUSUAL_CATEGORY_HOUR: a purchase at an unusual local hour (``contact_timezone``; decided
  here, per transaction, with the zone's rules) in a category the customer never bought in
  before.
- FOREIGN_CURRENCY: a customer's first purchase in another currency (key: the customer).
- INACTIVE_CARD_USE: a row refused because its card is FROZEN (MEDIUM) or BLOCKED (HIGH): no
  transaction exists, so the alert keeps the amount, time, category, currency and the card's
  status (not the merchant's name); key: the refused row's natural key.

Purchases only: repayments and refunds raise nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Table,
    and_,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select
from sqlmodel import col

from core.settings import Settings
from models.cards.card import Card, CardStatus
from models.columns import utcnow
from models.customers.customer import Customer
from models.growth.customer_metrics import CustomerMetrics
from models.risk.alert import AlertRule, AlertSeverity, AlertStatus, RiskAlert
from models.transactions.transaction import Transaction
from resolvers.batch_sql import among, new_uuid
from resolvers.risk.alert_outbox import write_raised
from resolvers.risk.rules_input import PURCHASE, BatchLike, Candidates, RefusedLike, candidates
from resolvers.risk.rules_sql import concat, json_object, minutes_before

ALERTS: Table = RiskAlert.__table__  # type: ignore[attr-defined]
INSERT_CHUNK = 500
_COLUMNS = (
    "id",
    "rule",
    "severity",
    "status",
    "customer_id",
    "branch_id",
    "card_id",
    "transaction_id",
    "amount_cents",
    "occurred_at",
    "details",
    "natural_key",
    "created_at",
    "updated_at",
    "version",
)
_INACTIVE_SEVERITY = {
    CardStatus.FROZEN.value: AlertSeverity.MEDIUM,
    CardStatus.BLOCKED.value: AlertSeverity.HIGH,
}


def _before(p: Any, t: Any) -> Any:
    """``p`` comes before ``t`` in (occurred_at, id) order (a total order, ties broken)."""
    return or_(p.occurred_at < t.occurred_at, and_(p.occurred_at == t.occurred_at, p.id < t.id))


def _window_count(t: Any, minutes: int) -> Any:
    """Purchases on ``t``'s card in the ``minutes`` up to and including ``t``."""
    p = aliased(Transaction)
    return (
        select(func.count())
        .where(
            col(p.card_id) == t.card_id,
            col(p.kind) == PURCHASE,
            col(p.occurred_at) >= minutes_before(t.occurred_at, minutes),
            col(p.occurred_at) <= t.occurred_at,  # both bounds in the index condition
            or_(_before(p, t), col(p.id) == t.id),
        )
        .scalar_subquery()
    )


class _Rules:
    """The statements of one run: the dialect, the clock and the thresholds."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.dialect = session.get_bind().dialect.name
        self.now = utcnow()

    def _alert(
        self, rule: AlertRule, severity: AlertSeverity, t: Any, details: Any, key: Any
    ) -> list[Any]:
        """The inserted columns (``_COLUMNS``) for transaction ``t`` (its card joined as
        ``Card``, the customer as ``Customer``)."""
        return [
            new_uuid(),
            literal(rule.value),
            literal(severity.value),
            literal(AlertStatus.OPEN.value),
            col(Card.customer_id),
            col(Customer.branch_id),
            t.card_id,
            t.id,
            t.amount_cents,
            t.occurred_at,
            details,
            key,
            literal(self.now, RiskAlert.__table__.c.created_at.type),  # type: ignore[attr-defined]
            literal(self.now, RiskAlert.__table__.c.updated_at.type),  # type: ignore[attr-defined]
            literal(1),
        ]

    async def _insert(self, query: Select[Any]) -> list[uuid.UUID]:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        statement = (
            dialect.insert(ALERTS)
            .from_select(list(_COLUMNS), query)
            .on_conflict_do_nothing(index_elements=[ALERTS.c.natural_key])
            .returning(ALERTS.c.id)
        )
        return [row_id for (row_id,) in await self.session.execute(statement)]

    def _joined(self, t: Any, ids: Sequence[uuid.UUID], name: str) -> Select[Any]:
        return (
            select()
            .select_from(t)
            .join(Card, col(Card.id) == t.card_id)
            .join(Customer, col(Customer.id) == col(Card.customer_id))
            .where(among(self.dialect, t.id, ids, name), t.kind == PURCHASE)
        )

    async def velocity(self, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        count, minutes = self.settings.risk_velocity_count, self.settings.risk_velocity_minutes
        t = aliased(Transaction)
        scored = (
            select(  # type: ignore[call-overload]
                t.id, t.card_id, t.amount_cents, t.occurred_at, _window_count(t, minutes).label("n")
            )
            .where(among(self.dialect, t.id, ids, "velocity_ids"), col(t.kind) == PURCHASE)
            .subquery("scored")
        )
        q = aliased(Transaction)
        earlier_burst = exists().where(
            col(q.card_id) == scored.c.card_id,
            col(q.kind) == PURCHASE,
            col(q.occurred_at) >= minutes_before(scored.c.occurred_at, minutes),
            col(q.occurred_at) <= scored.c.occurred_at,
            _before(q, scored.c),
            _window_count(q, minutes) >= count,
        )
        details = json_object("count", scored.c.n, "windowMinutes", literal(minutes))
        key = concat("velocity:", scored.c.id)
        query = (
            select(*self._alert(AlertRule.VELOCITY, AlertSeverity.HIGH, scored.c, details, key))
            .select_from(scored)
            .join(Card, col(Card.id) == scored.c.card_id)
            .join(Customer, col(Customer.id) == col(Card.customer_id))
            .where(scored.c.n >= count, ~earlier_burst)
        )
        return await self._insert(query)

    async def amount_spike(self, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        s = self.settings
        t = aliased(Transaction)
        m = CustomerMetrics
        usual = col(m.monetary_cents) // col(m.frequency)  # integer fen
        details = json_object("usualAmount", usual)
        key = concat("amount_spike:", t.id)
        query = (
            self._joined(t, ids, "spike_ids")
            .add_columns(
                *self._alert(AlertRule.AMOUNT_SPIKE, AlertSeverity.MEDIUM, t, details, key)
            )
            .join(m, col(m.customer_id) == col(Card.customer_id))
            .where(
                col(t.currency) == s.risk_home_currency,
                col(m.frequency) >= s.risk_spike_min_frequency,
                col(t.amount_cents) >= s.risk_spike_floor_cents,
                # 64-bit: a big purchase times a frequent customer's count passes 2**31.
                cast(col(t.amount_cents), BigInteger) * col(m.frequency)
                >= literal(s.risk_spike_factor) * col(m.monetary_cents),
            )
        )
        return await self._insert(query)

    def _earlier_of_customer(self, t: Any, *conditions: Any) -> Any:
        """An earlier purchase of ``t``'s customer (on any of their cards) matching."""
        p, pc = aliased(Transaction), aliased(Card)
        return (
            select(literal(1))
            .select_from(p)
            .join(pc, col(pc.id) == col(p.card_id))
            .where(
                col(pc.customer_id) == col(Card.customer_id),
                col(p.kind) == PURCHASE,
                _before(p, t),
                *(condition(p) for condition in conditions),
            )
            .exists()
        )

    async def unusual_category_hour(self, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        t = aliased(Transaction)
        details = json_object("category", t.merchant_category)
        key = concat("unusual_category_hour:", t.id)
        seen = self._earlier_of_customer(
            t, lambda p: col(p.merchant_category) == col(t.merchant_category)
        )
        query = (
            self._joined(t, ids, "hour_ids")
            .add_columns(
                *self._alert(AlertRule.UNUSUAL_CATEGORY_HOUR, AlertSeverity.LOW, t, details, key)
            )
            .where(~seen)
        )
        return await self._insert(query)

    async def foreign_currency(self, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        home = self.settings.risk_home_currency
        t = aliased(Transaction)
        details = json_object("currency", t.currency)
        key = concat("foreign_currency:", col(Card.customer_id))
        used = self._earlier_of_customer(t, lambda p: col(p.currency) != home)
        query = (
            self._joined(t, ids, "currency_ids")
            .add_columns(
                *self._alert(AlertRule.FOREIGN_CURRENCY, AlertSeverity.LOW, t, details, key)
            )
            .where(col(t.currency) != home, ~used)
        )
        return await self._insert(query)

    async def inactive_card_uses(self, uses: Sequence[RefusedLike]) -> list[uuid.UUID]:
        """One lookup of the cards' customers, then the alerts in multi-row inserts."""
        watched = [use for use in uses if use.card_status in _INACTIVE_SEVERITY]
        if not watched:
            return []
        card_ids = sorted({use.card_id for use in watched})
        owners = {
            card_id: (customer_id, branch_id)
            for card_id, customer_id, branch_id in await self.session.execute(
                select(col(Card.id), col(Card.customer_id), col(Customer.branch_id))
                .join(Customer, col(Customer.id) == col(Card.customer_id))
                .where(among(self.dialect, col(Card.id), card_ids, "card_ids"))
            )
        }
        values = [self._inactive_row(use, *owners[use.card_id]) for use in watched]
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        statement = (
            dialect.insert(ALERTS)
            .on_conflict_do_nothing(index_elements=[ALERTS.c.natural_key])
            .returning(ALERTS.c.id)
        )
        raised: list[uuid.UUID] = []
        for start in range(0, len(values), INSERT_CHUNK):
            chunk = values[start : start + INSERT_CHUNK]
            raised.extend(row_id for (row_id,) in await self.session.execute(statement, chunk))
        return raised

    def _inactive_row(
        self, use: RefusedLike, customer_id: uuid.UUID, branch_id: uuid.UUID
    ) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "rule": AlertRule.INACTIVE_CARD_USE.value,
            "severity": _INACTIVE_SEVERITY[use.card_status].value,
            "status": AlertStatus.OPEN.value,
            "customer_id": customer_id,
            "branch_id": branch_id,
            "card_id": use.card_id,
            "transaction_id": None,
            "amount_cents": use.amount_cents,
            "occurred_at": use.occurred_at,
            "details": {
                "cardStatus": use.card_status,
                "category": use.category,
                "currency": use.currency,
            },
            "natural_key": f"{AlertRule.INACTIVE_CARD_USE.value}:{use.natural_key}",
            "created_at": self.now,
            "updated_at": self.now,
            "version": 1,
        }


async def run_rules(
    session: AsyncSession,
    settings: Settings,
    found: Candidates,
    refused: Sequence[RefusedLike] = (),
) -> list[uuid.UUID]:
    """Runs every rule over the candidates (uncommitted); the ids of the alerts raised."""
    rules = _Rules(session, settings)
    raised: list[uuid.UUID] = []
    if rules.dialect == "postgresql" and (found.ids or refused):
        # Many short index probes: compiling each statement (PostgreSQL's JIT, ~150 ms a
        # statement once the tables are large) costs more than it saves. This transaction only.
        await session.execute(text("SET LOCAL jit = off"))
    if found.ids:
        raised += await rules.velocity(found.ids)
    if found.large:
        raised += await rules.amount_spike(found.large)
    if found.foreign:
        raised += await rules.foreign_currency(found.foreign)
    if found.unusual_hour:
        raised += await rules.unusual_category_hour(found.unusual_hour)
    raised += await rules.inactive_card_uses(refused)
    await write_raised(session, raised)  # their outbox events, in the batch's transaction
    return raised


def alert_rules(
    settings: Settings, raised: list[uuid.UUID] | None = None
) -> Callable[[AsyncSession, BatchLike], Awaitable[None]]:
    """The batch effect step: the rules over a written batch; the ids of the alerts raised
    are appended to ``raised``, for the caller to publish once the batch has committed."""

    async def step(session: AsyncSession, outcome: BatchLike) -> None:
        rows = (
            (row.id, row.kind, row.occurred_at, row.currency, row.amount_cents)
            for row in outcome.booked
        )
        ids = await run_rules(session, settings, candidates(settings, rows), outcome.refused_uses)
        if raised is not None:
            raised.extend(ids)

    return step
