"""A small world for the risk KPI tests, every row written out (bare rows: nothing C2).

Two branches, A and B; the range is April 2026 (UTC); the bank's zone is Asia/Shanghai
(+08:00), so a statement closing as of day D closes at D 16:00 UTC. The expectations are
counted by hand in tests/resolvers/analytics/test_risk.py, next to each figure.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.cards.card import Card, CardStatus
from models.cards.limits import CreditLimitChange, CreditLimitRequest
from models.cards.statement import Statement
from models.collections.case import CollectionCase, CollectionContact
from models.customers.customer import Customer
from models.growth.tier import Tier
from models.organisation.organisation import Branch
from models.risk.alert import RiskAlert
from models.service_desk.interaction import Interaction
from models.transactions.transaction import Transaction

APRIL = (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))


def utc(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


# card: branch, its bucket now
CARDS = {
    "k1": ("A", "current"),
    "k2": ("A", "m1"),
    "k3": ("A", "m2"),
    "k4": ("A", "current"),  # cured in April
    "k5": ("A", "current"),  # no statement: not counted
    "k9": ("A", "current"),
    "k6": ("B", "m6_plus"),
    "k7": ("B", "current"),
    "k8": ("B", "m1"),
}

# card, cycle end (closes at 16:00 UTC that day), its bucket as it closed, balance in fen
STATEMENTS = (
    ("k1", date(2026, 3, 15), "current", 10_000),
    ("k1", date(2026, 4, 15), "current", 20_000),
    ("k2", date(2026, 3, 15), "current", 50_000),
    ("k2", date(2026, 4, 15), "m1", 60_000),
    ("k3", date(2026, 3, 15), "m1", 30_000),
    ("k3", date(2026, 4, 15), "m2", 35_000),
    ("k4", date(2026, 3, 15), "m2", 40_000),
    ("k4", date(2026, 4, 15), "current", -5_000),  # a credit balance counts 0
    ("k9", date(2026, 3, 15), None, 0),  # closed before buckets were recorded
    ("k9", date(2026, 4, 15), "current", 0),
    ("k6", date(2026, 3, 20), "m6", 90_000),
    ("k6", date(2026, 4, 20), "m6_plus", 100_000),
    ("k6", date(2026, 5, 20), "m6_plus", 110_000),  # closes in May: its latest
    ("k7", date(2026, 2, 28), "current", 5_000),
    ("k7", date(2026, 3, 31), "current", 8_000),  # closes 31 March 16:00 UTC: before April
    ("k8", date(2026, 3, 10), "m1", 30_000),
    ("k8", date(2026, 4, 10), "m1", 40_000),
)

# card, kind, fen, when
TRANSACTIONS = (
    ("k2", "repayment", 50_000, utc(4, 4)),  # before the promise was made
    ("k2", "repayment", 3_000, utc(4, 8)),
    ("k2", "purchase", 100_000, utc(4, 9)),  # spending is no repayment
    ("k2", "repayment", 3_000, utc(4, 10, 15)),  # 23:00 on 10 April in Shanghai
    ("k4", "repayment", 10_000, utc(4, 12, 18)),  # 02:00 on 13 April in Shanghai: late
)


@dataclass(frozen=True)
class Case:
    key: str
    card: str
    opened: datetime
    closed: datetime | None = None
    reason: str | None = None


CASES = (
    Case("case1", "k2", utc(4, 5)),
    Case("case2", "k3", utc(2, 10)),
    Case("case3", "k4", utc(3, 1), utc(4, 16), "cured"),
    Case("case4", "k1", utc(1, 5), utc(3, 20), "cured"),  # closed before April
    Case("case5", "k6", utc(1, 1), utc(4, 25), "written_off"),
    Case("case6", "k8", utc(4, 30, 20)),
    Case("case7", "k7", utc(5, 2)),  # opened after April
)

# case, outcome, when, promised fen, promised day
CONTACTS = (
    ("case1", "promise_to_pay", utc(4, 6), 6_000, date(2026, 4, 10)),
    ("case2", "promise_to_pay", utc(3, 20), 1_000, date(2026, 3, 25)),
    ("case3", "promise_to_pay", utc(4, 2), 10_000, date(2026, 4, 12)),
    ("case5", "reached", utc(4, 3), None, None),
    ("case6", "promise_to_pay", utc(4, 30, 21), 1_000, date(2026, 5, 1)),  # May's
)

# branch, rule, status, raised
ALERTS = (
    ("A", "velocity", "confirmed_fraud", utc(4, 2)),
    ("A", "velocity", "legitimate", utc(4, 3)),
    ("A", "velocity", "open", utc(4, 4)),
    ("A", "amount_spike", "false_positive", utc(4, 5)),
    ("B", "velocity", "confirmed_fraud", utc(4, 6)),
    ("B", "inactive_card_use", "escalated", utc(4, 7)),
    ("B", "foreign_currency", "confirmed_fraud", utc(3, 31, 23)),  # March
)

# card, status, made, decided, last update
REQUESTS = (
    ("k1", "approved", utc(3, 28), utc(4, 2), utc(4, 2)),
    ("k2", "pending", utc(4, 3), None, utc(4, 3)),
    ("k3", "rejected", utc(4, 5), utc(4, 6), utc(4, 6)),
    ("k4", "cancelled", utc(4, 10), None, utc(4, 11)),  # a cancellation records no decision
    ("k9", "approved", utc(4, 20), utc(5, 3), utc(5, 3)),  # decided in May
    ("k6", "approved", utc(4, 7), utc(4, 8), utc(4, 8)),
)

# card, kind, when
LIMIT_CHANGES = (
    ("k6", "risk_decrease", utc(4, 12)),
    ("k3", "risk_decrease", utc(4, 14)),
    ("k2", "request_approved", utc(4, 2)),
    ("k3", "risk_decrease", utc(3, 30)),  # March
)


@dataclass(frozen=True)
class RiskWorld:
    branches: dict[str, uuid.UUID]


def _statement(card: Card, end: date, bucket: str | None, balance: int) -> Statement:
    closes = datetime(end.year, end.month, end.day, 16, tzinfo=UTC)
    return Statement(
        card_id=card.id,
        cycle_end=end,
        cycle_start=end - timedelta(days=30),
        closes_at=closes,
        previous_balance_cents=0,
        purchases_cents=max(balance, 0),
        refunds_cents=0,
        repayments_cents=0,
        balance_cents=balance,
        minimum_payment_cents=max(balance, 0) // 10,
        due_date=end + timedelta(days=20),
        due_ends_at=closes + timedelta(days=20),
        overdue_bucket=bucket,
    )


async def build_risk_world(session: AsyncSession) -> RiskWorld:
    suffix = uuid.uuid4().hex[:8]
    branches = {key: Branch(code=f"{key}-{suffix}", name=f"Branch {key}") for key in "AB"}
    tier = Tier(code=f"t-{suffix}", name="Tier", rank=uuid.uuid4().int % 1_000_000)
    session.add_all([*branches.values(), tier])
    await session.flush()
    customers = {
        key: Customer(branch_id=branches[branch].id, tier_id=tier.id)
        for key, (branch, _) in CARDS.items()
    }
    session.add_all(customers.values())
    await session.flush()
    cards = {
        key: Card(
            customer_id=customers[key].id,
            product="UnionPay Classic",
            bin="622848",
            last4="0001",
            status=CardStatus.ACTIVATED,
            overdue_bucket=bucket,
        )
        for key, (_, bucket) in CARDS.items()
    }
    session.add_all(cards.values())
    await session.flush()
    session.add_all(_statement(cards[k], end, b, cents) for k, end, b, cents in STATEMENTS)
    session.add_all(
        Transaction(
            card_id=cards[k].id,
            amount_cents=cents,
            kind=kind,
            merchant_name="Bank transfer",
            occurred_at=when,
            natural_key=f"risk-{uuid.uuid4().hex}",
        )
        for k, kind, cents, when in TRANSACTIONS
    )
    cases = {item.key: _case(item, cards, branches) for item in CASES}
    session.add_all(cases.values())
    await session.flush()
    for key, outcome, when, amount, day in CONTACTS:
        case = cases[key]
        interaction = Interaction(
            customer_id=case.customer_id, kind="collection", subject="催收", occurred_at=when
        )
        session.add(interaction)
        await session.flush()
        session.add(
            CollectionContact(
                case_id=case.id,
                customer_id=case.customer_id,
                interaction_id=interaction.id,
                outcome=outcome,
                promise_amount_cents=amount,
                promise_date=day,
                occurred_at=when,
            )
        )
    session.add_all(_alert(item, customers, branches) for item in ALERTS)
    session.add_all(_request(item, cards, branches) for item in REQUESTS)
    session.add_all(
        CreditLimitChange(
            card_id=cards[k].id,
            old_limit_cents=1_000_000,
            new_limit_cents=500_000,
            kind=kind,
            actor_id="risk-officer",
            created_at=when,
        )
        for k, kind, when in LIMIT_CHANGES
    )
    await session.commit()
    return RiskWorld({key: branch.id for key, branch in branches.items()})


def _case(item: Case, cards: dict[str, Card], branches: dict[str, Branch]) -> CollectionCase:
    card = cards[item.card]
    return CollectionCase(
        card_id=card.id,
        customer_id=card.customer_id,
        branch_id=branches[CARDS[item.card][0]].id,
        status="closed" if item.closed else "open",
        opened_at=item.opened,
        closed_at=item.closed,
        close_reason=item.reason,
    )


def _alert(item: Any, customers: dict[str, Customer], branches: dict[str, Branch]) -> RiskAlert:
    branch, rule, status, raised = item
    customer = next(
        customers[key] for key, (b, _) in CARDS.items() if b == branch and key in customers
    )
    return RiskAlert(
        rule=rule,
        status=status,
        customer_id=customer.id,
        branch_id=branches[branch].id,
        natural_key=f"risk-{uuid.uuid4().hex}",
        created_at=raised,
    )


def _request(item: Any, cards: dict[str, Card], branches: dict[str, Branch]) -> CreditLimitRequest:
    key, status, made, decided, updated = item
    card = cards[key]
    return CreditLimitRequest(
        card_id=card.id,
        customer_id=card.customer_id,
        branch_id=branches[CARDS[key][0]].id,
        requester_id="requester",
        current_limit_cents=1_000_000,
        requested_limit_cents=2_000_000,
        status=status,
        decided_at=decided,
        created_at=made,
        updated_at=updated,
    )
