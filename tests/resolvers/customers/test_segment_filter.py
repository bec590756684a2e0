"""``list_customers`` with the segment filter and the metric orders, on a database of the
test's own (SQLite or PostgreSQL, as CARDCRM_TEST_DATABASE says): given the people written out
below, each condition selects exactly the expected ones; the orders page across ties without
losing or repeating anyone; a cursor of another order is refused; a guarded condition is
FORBIDDEN to the roles denied its field; a page costs the same statements however many match."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from api.demo.seed import seed_demo
from core.database import Database, counting_statements
from core.encryption import KeyRing
from core.errors import BadUserInput, Forbidden
from core.identity import Principal, Role
from core.request_database import RequestDatabase
from core.settings import Settings
from models.cards.card import CardStatus
from models.columns import utcnow
from models.customers.identifiers import luhn_check_digit, national_id_check_char
from models.growth.customer_metrics import CustomerMetrics
from models.growth.tier import Tier
from models.organisation.organisation import Branch
from resolvers.customers.customer_order import CustomerOrderField
from resolvers.customers.input import NewCard, NewCustomer
from resolvers.customers.records import list_customers, new_customer_rows
from resolvers.customers.segment_filter import Range, SegmentFilter
from resolvers.pagination import PageArgs, SortDirection
from tests.models.conftest import FreshDatabase
from tests.support import staff_principal


@dataclass(frozen=True)
class Person:
    tier: str = "standard"
    stage: str = "active"
    grade: str = "C"
    segments: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    churn: float | None = 0.1  # None: never evaluated
    spend_cents: int = 0
    recency: int | None = None
    activated: bool = False
    other_branch: bool = False


PEOPLE = {
    "diner": Person(segments=("dining", "travel"), churn=0.8, spend_cents=50_000, recency=3),
    "traveller": Person(segments=("travel",), tier="gold", churn=0.2, spend_cents=9_000),
    "vip": Person(tags=("vip", "高净值"), tier="platinum", grade="A", churn=0.5, recency=40),
    "risky": Person(grade="E", stage="at_risk", churn=0.8, spend_cents=100, recency=90),
    "active_card": Person(activated=True, churn=0.3, spend_cents=20_000, recency=1),
    "never": Person(churn=None, stage="new"),
    "elsewhere": Person(segments=("dining",), other_branch=True, churn=0.9),
}


@dataclass
class FilterWorld:
    database: Database
    ring: KeyRing
    branches: list[uuid.UUID]
    tiers: dict[str, uuid.UUID]
    ids: dict[str, uuid.UUID]

    def names(self, ids: list[uuid.UUID]) -> set[str]:
        by_id = {value: key for key, value in self.ids.items()}
        return {by_id[each] for each in ids}


async def _add_people(world: FilterWorld, people: dict[str, Person]) -> None:
    async with world.database.session() as session:
        for serial, (name, person) in enumerate(people.items(), start=len(world.ids) + 1):
            first17 = f"11010119900101{serial:03d}"
            data = NewCustomer(
                name="测试客户",
                birth_date=date(1990, 1, 1),
                id_number=first17 + national_id_check_char(first17),
                phone=f"1380000{serial:04d}",
                tags=person.tags,
                cards=(
                    NewCard(
                        pan=_pan(serial),
                        product="UnionPay Classic",
                        credit_limit=Decimal("10000"),
                    ),
                ),
            ).checked()
            row, cards, customer_key = new_customer_rows(
                world.ring,
                data,
                branch_id=world.branches[1 if person.other_branch else 0],
                tier_id=world.tiers[person.tier],
            )
            session.add(customer_key)
            row.lifecycle_stage, row.risk_grade = person.stage, person.grade
            row.segments = list(person.segments)
            if person.activated:
                cards[0].status = CardStatus.ACTIVATED
            session.add(row)
            await session.flush()
            session.add_all(cards)
            world.ids[name] = row.id
            if person.churn is not None:
                session.add(
                    CustomerMetrics(
                        customer_id=row.id,
                        evaluated_at=utcnow(),
                        window_days=90,
                        churn_score=person.churn,
                        monetary_cents=person.spend_cents,
                        recency_days=person.recency,
                    )
                )
        await session.commit()


def _pan(serial: int) -> str:
    first15 = f"622848{serial:09d}"
    return first15 + luhn_check_digit(first15)


@pytest.fixture
async def filter_world(fresh_database: FreshDatabase) -> AsyncIterator[FilterWorld]:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            await seed_demo(session, ring, customers=0, seed=1)
            branches = list(await session.scalars(select(Branch.id).order_by(Branch.code)))
            tiers = {t.code: t.id for t in await session.scalars(select(Tier))}
        world = FilterWorld(database, ring, branches, tiers, {})
        await _add_people(world, PEOPLE)
        yield world


def _admin() -> Principal:
    return staff_principal(Role.ADMIN)


async def _list(
    world: FilterWorld,
    data: SegmentFilter,
    principal: Principal | None = None,
    *,
    order: CustomerOrderField = CustomerOrderField.CREATED_AT,
    direction: SortDirection = SortDirection.DESC,
    page: PageArgs | None = None,
) -> tuple[list[tuple[str, Any]], Any]:
    async with world.database.session() as session:
        found, count = await list_customers(
            db=RequestDatabase(session),
            principal=principal or _admin(),
            settings=Settings(),
            filter=data,
            page=page or PageArgs(first=100),
            direction=direction,
            order=order,
        )
        total = await count()
    return [(cursor, row) for cursor, row in found.rows], (found, total)


async def _matching(world: FilterWorld, data: SegmentFilter, **kwargs: Any) -> set[str]:
    rows, (_, total) = await _list(world, data, **kwargs)
    names = world.names([row.id for _, row in rows])
    assert total == len(names)
    return names


FILTERS: list[tuple[SegmentFilter, set[str]]] = [
    (SegmentFilter(segments=("dining",)), {"diner", "elsewhere"}),
    (SegmentFilter(segments=("travel", "nothing")), {"diner", "traveller"}),
    (SegmentFilter(tags=("高净值",)), {"vip"}),
    (SegmentFilter(tags=("vip", "none")), {"vip"}),
    (SegmentFilter(lifecycle_stages=("at_risk", "new")), {"risky", "never"}),
    (SegmentFilter(tiers=("gold", "platinum")), {"traveller", "vip"}),
    (SegmentFilter(risk_grades=("A", "E")), {"vip", "risky"}),
    (SegmentFilter(churn_score=Range(0.5, 0.8)), {"diner", "vip", "risky"}),
    (SegmentFilter(churn_score=Range(min=0.85)), {"elsewhere"}),
    (SegmentFilter(spend_cents=Range(9_000, 50_000)), {"diner", "traveller", "active_card"}),
    (SegmentFilter(days_since_last_transaction=Range(max=3)), {"diner", "active_card"}),
    (SegmentFilter(days_since_last_transaction=Range(min=40)), {"vip", "risky"}),
    (SegmentFilter(activated=True), {"active_card"}),
    (
        SegmentFilter(activated=False, segments=("dining",), churn_score=Range(max=0.8)),
        {"diner"},
    ),
]


@pytest.mark.parametrize(("data", "expected"), FILTERS)
async def test_each_condition_selects_exactly_its_customers(
    filter_world: FilterWorld, data: SegmentFilter, expected: set[str]
) -> None:
    assert await _matching(filter_world, data) == expected


async def test_a_branch_supervisor_filters_within_their_branch(filter_world: FilterWorld) -> None:
    supervisor = staff_principal(Role.SUPERVISOR, filter_world.branches[0])
    found = await _matching(filter_world, SegmentFilter(segments=("dining",)), principal=supervisor)
    assert found == {"diner"}


@pytest.mark.parametrize(
    ("role", "data", "field"),
    [
        (Role.AGENT, SegmentFilter(risk_grades=("E",)), "riskGrades"),
        (Role.AUDITOR, SegmentFilter(risk_grades=("E",)), None),
        (Role.RISK_OFFICER, SegmentFilter(churn_score=Range(min=0.5)), None),
        (Role.AGENT, SegmentFilter(churn_score=Range(min=0.5)), None),
        (Role.SUPERVISOR, SegmentFilter(risk_grades=("E",)), None),
    ],
)
async def test_a_condition_on_a_field_the_caller_may_not_see_is_forbidden(
    filter_world: FilterWorld, role: Role, data: SegmentFilter, field: str | None
) -> None:
    principal = staff_principal(role, filter_world.branches[0])
    if field is None:
        await _list(filter_world, data, principal)
        return
    with pytest.raises(Forbidden) as refused:
        await _list(filter_world, data, principal)
    assert refused.value.field == f"filter.{field}"


@pytest.mark.parametrize(
    "data",
    [
        SegmentFilter(tiers=("bronze",)),
        SegmentFilter(segments=("Dining",)),
        SegmentFilter(churn_score=Range(0.9, 0.1)),
        SegmentFilter(tags=("13800001111222",)),
    ],
)
async def test_invalid_conditions_are_bad_user_input(
    filter_world: FilterWorld, data: SegmentFilter
) -> None:
    with pytest.raises(BadUserInput):
        await _list(filter_world, data)


ORDERS = [
    (CustomerOrderField.CHURN_SCORE, lambda m: m.get("churn", 0.0)),
    (CustomerOrderField.SPEND, lambda m: m.get("spend", 0)),
    (CustomerOrderField.LAST_TRANSACTION, lambda m: -m.get("recency", 1_000_000)),
]


@pytest.mark.parametrize(("order", "key"), ORDERS)
@pytest.mark.parametrize("direction", [SortDirection.DESC, SortDirection.ASC])
async def test_metric_orders_page_across_ties_without_loss_or_repeat(
    filter_world: FilterWorld, order: CustomerOrderField, key: Any, direction: SortDirection
) -> None:
    figures = {}
    for name, person in PEOPLE.items():
        shown: dict[str, Any] = {}
        if person.churn is not None:
            shown = {"churn": person.churn, "spend": person.spend_cents}
            if person.recency is not None:
                shown["recency"] = person.recency
        figures[filter_world.ids[name]] = key(shown)
    reverse = direction is SortDirection.DESC
    expected = sorted(figures, key=lambda i: (figures[i], i), reverse=reverse)

    seen: list[uuid.UUID] = []
    after = None
    for _ in range(10):
        rows, (page, _) = await _list(
            filter_world,
            SegmentFilter(),
            order=order,
            direction=direction,
            page=PageArgs(first=2, after=after),
        )
        seen += [row.id for _, row in rows]
        if not page.has_next_page:
            break
        after = rows[-1][0]
    assert seen == expected

    # backwards from the end gives the same last page
    rows, _ = await _list(
        filter_world, SegmentFilter(), order=order, direction=direction, page=PageArgs(last=3)
    )
    assert [row.id for _, row in rows] == expected[-3:]
    before = rows[0][0]
    rows, _ = await _list(
        filter_world,
        SegmentFilter(),
        order=order,
        direction=direction,
        page=PageArgs(last=2, before=before),
    )
    assert [row.id for _, row in rows] == expected[-5:-3]


async def test_a_cursor_of_another_order_is_bad_user_input(filter_world: FilterWorld) -> None:
    by_churn, _ = await _list(
        filter_world, SegmentFilter(), order=CustomerOrderField.CHURN_SCORE, page=PageArgs(first=1)
    )
    by_created, _ = await _list(filter_world, SegmentFilter(), page=PageArgs(first=1))
    for order, cursor in (
        (CustomerOrderField.SPEND, by_churn[0][0]),
        (CustomerOrderField.CREATED_AT, by_churn[0][0]),
        (CustomerOrderField.CHURN_SCORE, by_created[0][0]),
    ):
        with pytest.raises(BadUserInput) as refused:
            await _list(filter_world, SegmentFilter(), order=order, page=PageArgs(after=cursor))
        assert refused.value.field == "after"


async def test_a_filtered_page_costs_the_same_statements_however_many_match(
    filter_world: FilterWorld,
) -> None:
    data = SegmentFilter(
        segments=("dining", "travel", "x"),
        tags=("vip", "y"),
        churn_score=Range(0.0, 1.0),
        spend_cents=Range(min=0),
        activated=False,
    )

    async def statements() -> int:
        async with counting_statements() as counted:
            await _list(filter_world, data, order=CustomerOrderField.SPEND)
        return counted.value

    few = await statements()
    await _add_people(
        filter_world,
        {f"more{i}": Person(segments=("dining",), tags=("vip",)) for i in range(30)},
    )
    assert await statements() == few == 2  # the page and its count


def test_a_filter_round_trips_through_its_stored_json() -> None:
    from datetime import UTC, datetime

    data = SegmentFilter(
        branch_id=uuid.uuid4(),
        tiers=("gold",),
        lifecycle_stages=("at_risk", "dormant"),
        risk_grades=("D", "E"),
        segments=("dining",),
        tags=("vip",),
        churn_score=Range(0.25, None),
        spend_cents=Range(None, 100_000),
        days_since_last_transaction=Range(30, 90),
        activated=False,
        created_from=datetime(2025, 1, 1, tzinfo=UTC),
        created_to=datetime(2026, 1, 1, tzinfo=UTC),
    )
    import json

    stored = json.loads(json.dumps(data.to_json()))
    assert SegmentFilter.from_json(stored) == data
    assert SegmentFilter.from_json({}) == SegmentFilter()
    assert set(stored) == set(data.used())
