"""Evaluation on a book of customers whose every transaction is written out below.

Given customers with hand-made spending histories (on a database of the test's own), when
``evaluate_customers`` runs as of AS_OF, then each ends in the stage, segments and tier the
rules say, with the reasons worked out next to each expectation; a second run with no new
data changes nothing and writes no history; an override holds; time passing without
transactions walks a customer down the stages.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from api.demo.seed import seed_demo
from auth.audit import AuditEvent, verify
from core.database import Database
from core.settings import Settings
from models.audit.audit import AuditEntry
from models.customers.customer import Customer, LifecycleHistory
from models.growth.customer_metrics import CustomerMetrics
from models.growth.tier import Tier, TierHistory
from models.risk.grade import RiskGradeChange
from resolvers.growth.evaluation import EvaluationSummary, evaluate_customers, write_chunk
from resolvers.growth.evaluation_decision import aggregate_query, decide
from resolvers.growth.lifecycle_rules import LifecycleRules
from resolvers.growth.tier_rules import TierRule
from tests.models.conftest import FreshDatabase
from tests.support_evaluation import AS_OF, Spend, add_spender, every, reference_ids


@dataclass(frozen=True)
class Person:
    name: str
    tier: str
    joined_days_ago: int
    spending: list[Spend] = field(default_factory=list)
    cards: int = 1
    override_days: int | None = None  # override until AS_OF + this many days


PEOPLE = (
    Person("fresh", "standard", 10),
    Person("prospect", "standard", 200),
    Person("no_card", "standard", 300, cards=0),
    # ¥100 dining every 7 days from 2 days ago: days 2..86 in the window (13), 93..177 before
    Person("active", "standard", 400, every(7, count=26, from_days_ago=2, yuan=100)),
    # ¥2,500 travel every 3 days from 1 day ago: days 1..88 (30), 91..178 (30), 181..208 (10)
    Person(
        "loyal",
        "standard",
        500,
        every(3, count=70, from_days_ago=1, yuan=2_500, category="travel"),
    ),
    # ten ¥1,000 before (days 95..176), then two ¥500 (days 5 and 20)
    Person(
        "falling",
        "silver",
        400,
        [
            *every(9, count=10, from_days_ago=95, yuan=1_000, category="shopping"),
            Spend(5, 500, "shopping"),
            Spend(20, 500, "shopping"),
        ],
    ),
    # four ¥200 in each period, the newest 50 days ago
    Person(
        "quiet",
        "standard",
        400,
        every(10, count=4, from_days_ago=50, yuan=200, category="grocery")
        + every(10, count=4, from_days_ago=100, yuan=200, category="grocery"),
    ),
    Person("dormant", "standard", 600, [Spend(100, 300), Spend(120, 300)]),
    Person("churned", "standard", 900, [Spend(200, 300), Spend(250, 300)]),
    Person("overridden", "platinum", 400, override_days=30),
    Person("override_over", "platinum", 400, override_days=-1),
    # a purchase after AS_OF does not count yet
    Person("future", "standard", 400, [Spend(3, 100), Spend(-5, 999_999, "travel")]),
    # ¥300 fuel every 10 days from 1 day ago over two cards: 8 purchases
    Person(
        "two_cards",
        "standard",
        400,
        every(10, count=8, from_days_ago=1, yuan=300, category="fuel"),
        cards=2,
    ),
)


def batch_job_event(action: str, **kwargs: Any) -> AuditEvent:
    return AuditEvent("system", "evaluation-test", action, **kwargs)


@dataclass
class Book:
    database: Database
    settings: Settings
    ids: dict[str, uuid.UUID]
    tiers: dict[str, uuid.UUID]

    def name_of(self, customer_id: uuid.UUID) -> str:
        return next(name for name, id_ in self.ids.items() if id_ == customer_id)

    async def evaluate(self, *, days_later: int = 0) -> EvaluationSummary:
        return await evaluate_customers(
            database=self.database,
            settings=self.settings,
            audit_event=batch_job_event,
            as_of=AS_OF + timedelta(days=days_later),
            chunk_rows=4,  # several chunks, read ahead of one another
        )

    async def customers(self) -> dict[str, tuple[str, list[str], str, int]]:
        """name → (stage, segments, tier code, version)."""
        async with self.database.session() as session:
            rows = await session.execute(
                select(Customer, Tier.code).join(Tier, col(Tier.id) == Customer.tier_id)
            )
            return {
                self.name_of(c.id): (c.lifecycle_stage, list(c.segments), code, c.version)
                for c, code in rows.all()
            }

    async def rows(self, model: Any) -> list[Any]:
        async with self.database.session() as session:
            return list((await session.scalars(select(model))).all())

    async def count(self, model: Any) -> int:
        async with self.database.session() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def book(fresh_database: FreshDatabase) -> AsyncIterator[Book]:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            await seed_demo(session, ring, customers=0, seed=1)
            tiers, branches = await reference_ids(session)
            ids = {}
            for person in PEOPLE:
                until = (
                    AS_OF + timedelta(days=person.override_days)
                    if person.override_days is not None
                    else None
                )
                ids[person.name] = await add_spender(
                    session,
                    tier_id=tiers[person.tier],
                    branch_id=branches["BJ-CY"],
                    joined_days_ago=person.joined_days_ago,
                    spending=person.spending,
                    cards=person.cards,
                    override_until=until,
                )
        yield Book(database, fresh_database.settings, ids, tiers)


EXPECTED_CUSTOMERS = {
    "fresh": ("new", [], "standard", 1),  # unchanged: still new, never transacted
    "prospect": ("prospect", [], "standard", 2),
    "no_card": ("prospect", [], "standard", 2),
    "active": ("active", ["dining"], "standard", 2),
    "loyal": ("loyal", ["high_frequency", "big_ticket", "travel"], "gold", 2),
    "falling": ("at_risk", ["shopping"], "standard", 2),
    "quiet": ("at_risk", ["grocery"], "standard", 2),
    "dormant": ("dormant", [], "standard", 2),
    "churned": ("churned", [], "standard", 2),
    "overridden": ("prospect", [], "platinum", 2),  # the override holds the tier
    "override_over": ("prospect", [], "standard", 2),
    "future": ("active", ["dining"], "standard", 2),
    "two_cards": ("active", ["fuel"], "standard", 2),
}

EXPECTED_STAGE_REASONS = {
    "prospect": "no transaction in the 200 days since joining",
    "no_card": "no transaction in the 300 days since joining",
    "active": "last transaction 2 days ago; 13 transactions, ¥1,300 in 90 days",
    "loyal": "last transaction 1 day ago; 30 transactions, ¥75,000 in 90 days; "
    "a customer for 500 days",
    # spend ¥10,000 → ¥1,000 (90%); 10 → 2 purchases (80%, weighs 40%): 1 - 0.1 × 0.6
    "falling": "churn risk 0.94: spend fell 90% over 90 days (¥10,000 → ¥1,000); "
    "frequency fell 80% over 90 days (10 → 2 transactions)",
    # 50 of 90 dormant days; no drop: four purchases in each period
    "quiet": "churn risk 0.56: no transaction in 50 days",
    "dormant": "no transaction in 100 days",
    "churned": "no transaction in 200 days",
    "overridden": "no transaction in the 400 days since joining",
    "override_over": "no transaction in the 400 days since joining",
    "future": "last transaction 3 days ago; 1 transactions, ¥100 in 90 days",
    "two_cards": "last transaction 1 day ago; 8 transactions, ¥2,400 in 90 days",
}

EXPECTED_TIER_CHANGES = {
    "loyal": (
        "standard",
        "gold",
        "upgrade",
        "annual spend ¥175,000 over 70 transactions qualifies for gold",
    ),
    "falling": (
        "silver",
        "standard",
        "downgrade",
        "annual spend ¥11,000 over 12 transactions qualifies for standard only; "
        "silver needs ¥50,000 and 24 transactions",
    ),
    "override_over": (
        "platinum",
        "standard",
        "downgrade",
        "annual spend ¥0 over 0 transactions qualifies for standard only; "
        "platinum needs ¥500,000 and 120 transactions",
    ),
}


async def test_every_customer_ends_in_the_stage_segments_and_tier_the_rules_say(
    book: Book,
) -> None:
    summary = await book.evaluate()

    assert summary.evaluated == len(PEOPLE)
    assert dict(summary.stage_changes) == {
        "prospect": 4,
        "active": 3,
        "loyal": 1,
        "at_risk": 2,
        "dormant": 1,
        "churned": 1,
    }
    assert (summary.upgrades, summary.downgrades) == (1, 2)
    assert summary.segment_changes == 6  # active loyal falling quiet future two_cards
    assert summary.overrides_kept == 1
    assert summary.skipped == 0
    assert await book.customers() == EXPECTED_CUSTOMERS


async def test_each_stage_change_is_recorded_with_its_reason_and_figures(book: Book) -> None:
    await book.evaluate()

    history = {book.name_of(row.customer_id): row for row in await book.rows(LifecycleHistory)}
    assert {name: row.reason for name, row in history.items()} == EXPECTED_STAGE_REASONS
    assert {row.from_stage for row in history.values()} == {"new"}
    assert {row.created_at for row in history.values()} == {AS_OF}
    falling = history["falling"]
    assert (falling.to_stage, falling.recency_days, falling.frequency) == ("at_risk", 5, 2)
    assert (falling.monetary_cents, falling.churn_score) == (100_000, 0.94)


async def test_each_tier_change_is_recorded_with_its_reason(book: Book) -> None:
    await book.evaluate()

    code = {tier_id: code for code, tier_id in book.tiers.items()}
    changes = {
        book.name_of(row.customer_id): (
            code[row.from_tier_id],
            code[row.to_tier_id],
            row.change,
            row.reason,
        )
        for row in await book.rows(TierHistory)
    }
    assert changes == EXPECTED_TIER_CHANGES
    assert {row.actor_id for row in await book.rows(TierHistory)} == {None}


async def test_metrics_hold_the_rfm_figures_churn_reasons_and_category_spend(book: Book) -> None:
    await book.evaluate()

    metrics = {book.name_of(row.customer_id): row for row in await book.rows(CustomerMetrics)}
    assert set(metrics) == set(book.ids)  # one row per customer, spenders or not
    loyal = metrics["loyal"]
    assert (loyal.recency_days, loyal.frequency, loyal.monetary_cents) == (1, 30, 7_500_000)
    assert (loyal.annual_spend_cents, loyal.annual_transactions) == (17_500_000, 70)
    assert loyal.category_spend == {"travel": 7_500_000}
    assert (loyal.churn_score, loyal.churn_reasons, loyal.window_days) == (0.0, [], 90)
    assert metrics["falling"].churn_reasons == [
        "spend fell 90% over 90 days (¥10,000 → ¥1,000)",
        "frequency fell 80% over 90 days (10 → 2 transactions)",
    ]
    dormant = metrics["dormant"]
    assert (dormant.recency_days, dormant.frequency, dormant.churn_score) == (100, 0, 1.0)
    fresh = metrics["fresh"]
    assert (fresh.recency_days, fresh.frequency, fresh.churn_score) == (None, 0, 0.0)
    assert metrics["future"].category_spend == {"dining": 10_000}  # the ¥999,999 is later
    assert metrics["two_cards"].frequency == 8
    assert {row.evaluated_at for row in metrics.values()} == {AS_OF}


async def test_a_second_run_with_no_new_data_changes_nothing_and_writes_no_history(
    book: Book,
) -> None:
    await book.evaluate()
    before = (
        await book.customers(),
        await book.count(LifecycleHistory),
        await book.count(TierHistory),
    )

    again = await book.evaluate()

    assert dict(again.stage_changes) == {}
    assert (again.upgrades, again.downgrades, again.segment_changes) == (0, 0, 0)
    assert again.evaluated == len(PEOPLE)
    after = (
        await book.customers(),
        await book.count(LifecycleHistory),
        await book.count(TierHistory),
    )
    assert after == before


async def test_time_without_transactions_walks_an_active_customer_down_the_stages(
    book: Book,
) -> None:
    await book.evaluate()
    for days_later in (60, 100, 200):  # last purchase 62, 102, 202 days before
        await book.evaluate(days_later=days_later)

    rows = sorted(
        (r for r in await book.rows(LifecycleHistory) if r.customer_id == book.ids["active"]),
        key=lambda row: row.created_at,
    )
    assert [(row.from_stage, row.to_stage, row.reason) for row in rows] == [
        ("new", "active", EXPECTED_STAGE_REASONS["active"]),
        # silence 62/90 = 0.689; spend ¥1,300 → ¥400 (0.692); 13 → 4 purchases (0.692 / 2):
        # 1 - 0.311 × 0.308 × 0.654 = 0.937
        (
            "active",
            "at_risk",
            "churn risk 0.94: no transaction in 62 days; "
            "spend fell 69% over 90 days (¥1,300 → ¥400); "
            "frequency fell 69% over 90 days (13 → 4 transactions)",
        ),
        ("at_risk", "dormant", "no transaction in 102 days"),
        ("dormant", "churned", "no transaction in 202 days"),
    ]


async def test_an_active_override_keeps_the_tier_and_an_expired_one_does_not(
    book: Book,
) -> None:
    await book.evaluate()
    tiers = {name: tier for name, (_, _, tier, _) in (await book.customers()).items()}
    assert (tiers["overridden"], tiers["override_over"]) == ("platinum", "standard")

    summary = await book.evaluate(days_later=31)  # the override has run out

    assert summary.downgrades == 1
    tiers = {name: tier for name, (_, _, tier, _) in (await book.customers()).items()}
    assert tiers["overridden"] == "standard"


async def test_a_customer_changed_meanwhile_is_left_alone_for_the_next_run(book: Book) -> None:
    """The write is guarded by the version the query read: a supervisor's override between
    the read and the write is not overwritten, and no history claims a change not made."""
    rules = LifecycleRules.from_settings(book.settings)
    async with book.database.session() as session:
        ladder = [TierRule.from_row(tier) for tier in await session.scalars(select(Tier))]
        query = aggregate_query(rules, AS_OF).where(Customer.id == book.ids["loyal"])  # type: ignore[arg-type]
        (row,) = (await session.execute(query)).all()
        decision = decide(row, rules=rules, ladder=ladder, as_of=AS_OF, stamp=AS_OF)
        await session.execute(
            update(Customer).where(col(Customer.id) == book.ids["loyal"]).values(version=7)
        )
        summary = EvaluationSummary(as_of=AS_OF)

        await write_chunk(session, [decision], AS_OF, summary)

    assert (summary.evaluated, summary.skipped, summary.upgrades) == (1, 1, 0)
    assert (await book.customers())["loyal"] == ("new", [], "standard", 7)
    assert await book.count(LifecycleHistory) == 0
    assert await book.count(TierHistory) == 0
    assert await book.count(CustomerMetrics) == 1  # the figures are facts either way


async def test_each_batch_that_changed_customers_is_audited_with_what_it_changed(
    book: Book,
) -> None:
    """Four customers a chunk: every chunk with a change has its entry, and together the
    entries name every customer the run updated, with the run's counts. Which customers
    share a chunk follows the table's scan order (random ids), so a chunk may hold no change
    and have no entry: the count of entries is bounded, not fixed."""
    summary = await book.evaluate()

    async with book.database.session() as session:
        batches = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "customers.evaluate.batch")
                .order_by(col(AuditEntry.seq))
            )
        ).all()
        chain = await verify(session)
    updated = {book.ids[name] for name, row in (await book.customers()).items() if row[3] > 1}
    named = [uuid.UUID(c) for batch in batches for c in batch.details["customers"]]
    assert -(-len(updated) // 4) <= len(batches) <= -(-len(PEOPLE) // 4)
    assert all(1 <= len(b.details["customers"]) <= b.details["evaluated"] <= 4 for b in batches)
    assert sorted(named) == sorted(updated)
    # A chunk without a change has no entry, so its customers are in no entry's count.
    assert len(named) <= sum(b.details["evaluated"] for b in batches) <= summary.evaluated
    assert sum(b.details["upgrades"] + b.details["downgrades"] for b in batches) == 3
    assert {(b.actor_kind, b.actor_id, b.target_type) for b in batches} == {
        ("system", "evaluation-test", "Customer")
    }
    assert set().union(*(b.fields for b in batches)) == {"lifecycle_stage", "segments", "tier"}
    assert chain.ok


async def test_without_statements_every_customer_keeps_a_new_customers_risk_grade(
    book: Book,
) -> None:
    """No one in this book has a statement yet: the risk grade is C with "no_history" for all
    (their cards have no limit, so no utilisation; no spike: "loyal" spends the same in both
    periods; no spend in OTHER), so evaluation writes no grade change, history or alert.
    The risk grade's own book is tests/resolvers/risk/test_grade_evaluation.py."""
    summary = await book.evaluate()

    metrics = await book.rows(CustomerMetrics)
    assert {(m.risk_grade, tuple(m.risk_reasons)) for m in metrics} == {("C", ("no_history",))}
    assert (dict(summary.grade_changes), summary.grade_alerts) == ({}, 0)
    async with book.database.session() as session:
        grades = set(await session.scalars(select(Customer.risk_grade)))
        assert grades == {"C"}
        assert await session.scalar(select(func.count()).select_from(RiskGradeChange)) == 0
