"""The risk grade through ``evaluate_customers``, on a book of customers whose cards,
statements, purchases and repayments are written out below.

Given hand-made accounts (on a database of the test's own), when evaluation runs as of AS_OF,
then each customer gets the grade and reasons the rules say (worked out next to each), the
customer's grade moves only where it changed and no override holds, each change writes one
history row, a worsening to D or E raises one alert, and a second run writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from sqlmodel import col

from api.demo.seed import seed_demo
from core.database import Database
from core.encryption import KeyRing
from core.identity import Role
from core.settings import Settings
from models.cards.card import Card
from models.cards.statement import Statement
from models.customers.customer import Customer, RiskGrade
from models.growth.customer_metrics import CustomerMetrics
from models.risk.alert import RiskAlert
from models.risk.grade import RiskGradeChange
from models.sealing import open_field
from models.transactions.transaction import Transaction
from resolvers.growth.evaluation import EvaluationSummary, evaluate_customers
from resolvers.risk.grade_evaluation import accounts_query, read_accounts
from resolvers.risk.grade_override import GradeOverride, change_grade
from resolvers.risk.grade_rules import GradeRules
from tests.models.conftest import FreshDatabase
from tests.resolvers.growth.test_evaluation import batch_job_event
from tests.support import staff_principal
from tests.support_evaluation import AS_OF, Spend, add_spender, reference_ids


@dataclass(frozen=True)
class Bill:
    """A closed statement: closed ``closed_days_ago``, due 20 days later."""

    closed_days_ago: int
    yuan: int
    paid_by_due: bool | None


@dataclass(frozen=True)
class Account:
    grade: str = "C"
    overridden: bool = False
    limit_yuan: int = 10_000
    days_past_due: int = 0
    spending: list[Spend] = field(default_factory=list)
    repayments: list[Spend] = field(default_factory=list)  # days ago, yuan
    bills: list[Bill] = field(default_factory=list)
    cards: int = 1


BOOK = {
    # ¥600 dining (days 5..55), repaid ¥600 on day 3: balance ¥0 of ¥10,000. Bills of ¥200
    # due 50 and 20 days ago, paid; ¥600 repaid of ¥400 due. No sign: A, clean record.
    "clean": Account(
        spending=[Spend(5 + 10 * i, 100) for i in range(6)],
        repayments=[Spend(3, 600)],
        bills=[Bill(70, 200, True), Bill(40, 200, True), Bill(10, 600, None)],
    ),
    # ¥1,000 of a ¥1,000 limit used (2 points); the one bill was ¥0: nothing due. A → C.
    "maxed": Account(
        grade="A",
        limit_yuan=1_000,
        spending=[Spend(5, 1_000, "shopping")],
        bills=[Bill(40, 0, True)],
    ),
    # 45 days past due (3), one bill missed (1), ¥0 repaid of ¥3,000 due (1): 5 → E.
    "late": Account(
        days_past_due=45,
        spending=[Spend(70, 3_000, "shopping")],
        bills=[Bill(65, 3_000, False)],
    ),
    # 10 days past due (2), one bill missed (1); ¥500 repaid of ¥1,000 due is enough: D.
    "slipping": Account(
        days_past_due=10,
        spending=[Spend(55, 1_500, "shopping")],
        repayments=[Spend(25, 500)],
        bills=[Bill(50, 1_000, False)],
    ),
    # As late as "late", but a risk officer holds the grade at B.
    "overridden": Account(
        grade="B",
        overridden=True,
        days_past_due=45,
        spending=[Spend(70, 3_000, "shopping")],
        bills=[Bill(65, 3_000, False)],
    ),
    # No card at all: no statement, C (a new customer's grade), unchanged.
    "no_card": Account(cards=0),
    # ¥10,000 "other" in the last 90 days against ¥2,000 in the 90 before (5×, ≥ ¥5,000: a
    # spike) and all of the window's spend cash-like: 2 points, C. A → C.
    "spender": Account(
        grade="A",
        limit_yuan=100_000,
        spending=[Spend(120, 2_000, "other"), Spend(10, 10_000, "other")],
        bills=[Bill(20, 0, None)],
    ),
}

EXPECTED = {  # name → (metrics grade, reasons, customer grade, overridden)
    "clean": ("A", ["clean_record"], "A", False),
    "maxed": ("C", ["high_utilisation"], "C", False),
    "late": ("E", ["overdue_now", "overdue_history", "low_repayment_ratio"], "E", False),
    "slipping": ("D", ["overdue_now", "overdue_history"], "D", False),
    "overridden": ("E", ["overdue_now", "overdue_history", "low_repayment_ratio"], "B", True),
    "no_card": ("C", ["no_history"], "C", False),
    "spender": ("C", ["spending_spike", "cash_like_spending"], "C", False),
}


@dataclass
class RiskBook:
    database: Database
    settings: Settings
    ring: KeyRing
    ids: dict[str, uuid.UUID]

    def name_of(self, customer_id: uuid.UUID) -> str:
        return next(name for name, id_ in self.ids.items() if id_ == customer_id)

    async def evaluate(self, *, days_later: int = 0) -> EvaluationSummary:
        return await evaluate_customers(
            database=self.database,
            settings=self.settings,
            audit_event=batch_job_event,
            as_of=AS_OF + timedelta(days=days_later),
            chunk_rows=3,  # several chunks
        )

    async def customers(self) -> dict[str, tuple[str, bool, int]]:
        """name → (grade, overridden, version)."""
        async with self.database.session() as session:
            rows = await session.scalars(select(Customer))
            return {
                self.name_of(c.id): (c.risk_grade, c.risk_grade_overridden, c.version) for c in rows
            }

    async def rows(self, model: Any) -> list[Any]:
        async with self.database.session() as session:
            return list((await session.scalars(select(model))).all())

    async def count(self, model: Any) -> int:
        async with self.database.session() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _add_account(session: Any, customer_id: uuid.UUID, account: Account) -> None:
    await session.execute(
        update(Customer)
        .where(col(Customer.id) == customer_id)
        .values(risk_grade=account.grade, risk_grade_overridden=account.overridden)
    )
    cards = (await session.scalars(select(Card).where(col(Card.customer_id) == customer_id))).all()
    if not cards:
        return
    card = cards[0]
    await session.execute(
        update(Card)
        .where(col(Card.customer_id) == customer_id)
        .values(credit_limit_cents=account.limit_yuan * 100, days_past_due=account.days_past_due)
    )
    for repayment in account.repayments:
        await session.execute(
            insert(Transaction),
            {
                "id": uuid.uuid4(),
                "card_id": card.id,
                "amount_cents": repayment.yuan * 100,
                "merchant_name": "repayment",
                "merchant_category": "other",
                "kind": "repayment",
                "occurred_at": AS_OF - timedelta(days=repayment.days_ago),
                "natural_key": f"test-{uuid.uuid4().hex}",
                "created_at": AS_OF,
            },
        )
    for bill in account.bills:
        closes = AS_OF - timedelta(days=bill.closed_days_ago)
        session.add(
            Statement(
                card_id=card.id,
                cycle_end=closes.date(),
                cycle_start=(closes - timedelta(days=30)).date(),
                closes_at=closes,
                previous_balance_cents=0,
                purchases_cents=bill.yuan * 100,
                refunds_cents=0,
                repayments_cents=0,
                balance_cents=bill.yuan * 100,
                minimum_payment_cents=bill.yuan * 10,
                due_date=(closes + timedelta(days=20)).date(),
                due_ends_at=closes + timedelta(days=20),
                paid_by_due=bill.paid_by_due,
            )
        )
    await session.commit()


@pytest.fixture
async def book(fresh_database: FreshDatabase) -> AsyncIterator[RiskBook]:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            await seed_demo(session, ring, customers=0, seed=1)
            tiers, branches = await reference_ids(session)
            ids = {}
            for name, account in BOOK.items():
                ids[name] = await add_spender(
                    session,
                    tier_id=tiers["standard"],
                    branch_id=branches["BJ-CY"],
                    joined_days_ago=400,
                    spending=account.spending,
                    cards=account.cards,
                )
                await _add_account(session, ids[name], account)
        yield RiskBook(database, fresh_database.settings, ring, ids)


async def test_each_customer_gets_the_grade_and_reasons_the_rules_say(book: RiskBook) -> None:
    summary = await book.evaluate()

    assert dict(summary.grade_changes) == {"A": 1, "C": 2, "D": 1, "E": 1}
    assert (summary.grade_alerts, summary.grade_overrides_kept) == (2, 1)
    metrics = {book.name_of(m.customer_id): m for m in await book.rows(CustomerMetrics)}
    customers = await book.customers()
    assert {
        name: (m.risk_grade, m.risk_reasons, customers[name][0], customers[name][1])
        for name, m in metrics.items()
    } == EXPECTED


async def test_the_account_figures_are_read_in_one_statement_per_chunk(book: RiskBook) -> None:
    rules = GradeRules()
    async with book.database.session() as session:
        accounts = await read_accounts(session, list(book.ids.values()), AS_OF, rules)
    late = accounts[book.ids["late"]]
    assert (late.balance_cents, late.credit_limit_cents, late.days_past_due) == (
        300_000,
        1_000_000,
        45,
    )
    assert (late.statements, late.missed_statements, late.billed_cents, late.repaid_cents) == (
        1,
        1,
        300_000,
        0,
    )
    clean = accounts[book.ids["clean"]]
    # ¥600 spent − ¥600 repaid; the bill closed 10 days ago is not due yet
    assert (clean.balance_cents, clean.statements, clean.billed_cents, clean.repaid_cents) == (
        0,
        3,
        40_000,
        60_000,
    )
    assert book.ids["no_card"] not in accounts
    assert "GROUP BY" in str(accounts_query(list(book.ids.values()), AS_OF, rules))


async def test_each_change_is_recorded_once_with_its_reasons(book: RiskBook) -> None:
    await book.evaluate()

    history = {book.name_of(r.customer_id): r for r in await book.rows(RiskGradeChange)}
    assert {n: (r.from_grade, r.to_grade, r.reasons) for n, r in history.items()} == {
        "clean": ("C", "A", ["clean_record"]),
        "maxed": ("A", "C", ["high_utilisation"]),
        "late": ("C", "E", ["overdue_now", "overdue_history", "low_repayment_ratio"]),
        "slipping": ("C", "D", ["overdue_now", "overdue_history"]),
        "spender": ("A", "C", ["spending_spike", "cash_like_spending"]),
    }
    assert {(r.source, r.actor_kind, r.actor_id, r.created_at) for r in history.values()} == {
        ("evaluation", "system", "evaluation", AS_OF)
    }
    assert {r.note_enc for r in history.values()} == {None}


async def test_a_worsening_to_d_or_e_raises_one_alert(book: RiskBook) -> None:
    await book.evaluate()

    alerts = {book.name_of(a.customer_id): a for a in await book.rows(RiskAlert)}
    assert {n: (a.rule, a.severity, a.status) for n, a in alerts.items()} == {
        "late": ("grade_worsened", "high", "open"),
        "slipping": ("grade_worsened", "medium", "open"),
    }
    late = alerts["late"]
    assert late.details == {
        "from": "C",
        "to": "E",
        "reasons": ["overdue_now", "overdue_history", "low_repayment_ratio"],
    }
    assert late.natural_key == f"grade_worsened:{book.ids['late']}:2026-06-30"
    assert (late.card_id, late.transaction_id, late.occurred_at) == (None, None, AS_OF)


async def test_a_second_run_with_no_new_data_changes_nothing(book: RiskBook) -> None:
    await book.evaluate()
    before = (
        await book.customers(),
        await book.count(RiskGradeChange),
        await book.count(RiskAlert),
    )

    again = await book.evaluate()

    assert (dict(again.grade_changes), again.grade_alerts) == ({}, 0)
    after = (
        await book.customers(),
        await book.count(RiskGradeChange),
        await book.count(RiskAlert),
    )
    assert after == before


async def test_the_same_worsening_on_the_same_day_raises_no_second_alert(book: RiskBook) -> None:
    await book.evaluate()
    async with book.database.session() as session:  # someone set it back meanwhile
        await session.execute(
            update(Customer)
            .where(col(Customer.id) == book.ids["late"])
            .values(risk_grade="C", version=col(Customer.version) + 1)
        )
        await session.commit()

    again = await book.evaluate()

    assert (dict(again.grade_changes), again.grade_alerts) == ({"E": 1}, 0)
    assert await book.count(RiskAlert) == 2
    later = await book.evaluate(days_later=1)  # unchanged since: nothing new
    assert (dict(later.grade_changes), later.grade_alerts) == ({}, 0)


async def test_an_override_holds_until_lifted_then_the_computed_grade_returns(
    book: RiskBook,
) -> None:
    await book.evaluate()
    officer = staff_principal(Role.RISK_OFFICER)
    customer_id = book.ids["clean"]
    version = (await book.customers())["clean"][2]

    async def change(grade: RiskGrade | None, version: int, reason: str) -> Customer:
        async with book.database.session() as session:
            return await change_grade(
                session=session,
                ring=book.ring,
                principal=officer,
                data=GradeOverride(customer_id, version, reason, grade),
                audit_event=batch_job_event,
            )

    held = await change(RiskGrade.D, version, "客户涉诉，暂定D级")
    assert (held.risk_grade, held.risk_grade_overridden, held.version) == ("D", True, version + 1)
    summary = await book.evaluate(days_later=1)
    assert summary.grade_overrides_kept == 2
    assert (await book.customers())["clean"] == ("D", True, version + 1)

    lifted = await change(None, version + 1, "诉讼已结案")
    assert (lifted.risk_grade, lifted.risk_grade_overridden) == ("A", False)
    rows = sorted(
        (r for r in await book.rows(RiskGradeChange) if r.customer_id == customer_id),
        key=lambda r: r.created_at,
    )
    assert [(r.source, r.from_grade, r.to_grade, r.reasons) for r in rows] == [
        ("evaluation", "C", "A", ["clean_record"]),
        ("override", "A", "D", []),
        ("override_lifted", "D", "A", ["clean_record"]),
    ]
    assert [open_field(book.ring, r, "note") for r in rows] == [
        None,
        "客户涉诉，暂定D级",
        "诉讼已结案",
    ]
    assert {r.actor_id for r in rows[1:]} == {officer.subject}
    after = await book.evaluate(days_later=2)  # back in evaluation's hands, and unchanged
    assert dict(after.grade_changes) == {}


async def test_lifting_back_to_a_computed_e_raises_the_alert_evaluation_held_back(
    book: RiskBook,
) -> None:
    await book.evaluate()  # "overridden" computes E but is held at B: no alert
    assert {book.name_of(a.customer_id) for a in await book.rows(RiskAlert)} == {
        "late",
        "slipping",
    }
    version = (await book.customers())["overridden"][2]
    async with book.database.session() as session:
        lifted = await change_grade(
            session=session,
            ring=book.ring,
            principal=staff_principal(Role.RISK_OFFICER),
            data=GradeOverride(book.ids["overridden"], version, "复核完毕"),
            audit_event=batch_job_event,
        )

    assert (lifted.risk_grade, lifted.risk_grade_overridden) == ("E", False)
    (alert,) = [a for a in await book.rows(RiskAlert) if a.customer_id == book.ids["overridden"]]
    assert (alert.rule, alert.severity, alert.details["from"], alert.details["to"]) == (
        "grade_worsened",
        "high",
        "B",
        "E",
    )
