"""Service KPIs against a hand count.

Given a small world whose every complaint, survey and customer is written out below, when
``service_kpis`` is asked for March 2025, then each figure equals what counting by hand
gives (the counts are worked out next to each expectation). The HTTP tests check the field
is wired, guarded by scope and by branch, and rejects a bad range.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.demo.seed import seed_demo
from core.database import Database, counting_statements
from core.errors import BadUserInput, Forbidden
from core.identity import Principal, Role
from core.request_database import RequestDatabase
from models.cards.card import Card
from models.customers.customer import Customer
from models.growth.tier import Tier
from models.organisation.organisation import Branch
from models.service_desk.complaint import Complaint, ComplaintEvent
from models.service_desk.interaction import Interaction
from models.transactions.transaction import Transaction
from resolvers.analytics.service import ServiceKpis, service_kpis
from resolvers.customers.records import new_customer_rows
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.models.conftest import FreshDatabase
from tests.support import (
    World,
    add_customer,
    add_oauth_client,
    client_credentials_token,
    numbered_customer,
    staff_principal,
)

MARCH = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
JUNE = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
EMPTY_YEAR = (datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))


def at(day: int, hour: int = 0, minute: int = 0, *, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


# key, branch code, lifecycle stage. Active customers (a card transaction in the range) are
# a1 a2 a3 (BJ-CY) and b1 (SH-PD) in March and in June; a4 and b2 spent in February only,
# whatever their stage says.
SPENT = {
    "a1": (at(3), at(2, month=6)),
    "a2": (at(14), at(30, month=6)),
    "a3": (at(31, 23, 59), at(15, month=6)),
    "b1": (at(1), at(20, month=6)),
    "a4": (at(28, month=2),),
    "b2": (at(10, month=2),),
}
CUSTOMERS = (
    ("a1", "BJ-CY", "active"),
    ("a2", "BJ-CY", "loyal"),
    ("a3", "BJ-CY", "active"),
    ("a4", "BJ-CY", "dormant"),
    ("b1", "SH-PD", "active"),
    ("b2", "SH-PD", "churned"),
)


@dataclass(frozen=True)
class Filed:
    name: str
    customer: str
    category: str
    status: str
    created_at: datetime
    due_at: datetime
    resolved_at: datetime | None = None
    satisfaction: int | None = None
    reopen_count: int = 0


COMPLAINTS = (
    # filed in March
    Filed("c1", "a1", "billing_dispute", "resolved", at(2), at(3), at(2, 2), 5),  # 2 h, in SLA
    Filed("c2", "a2", "fees", "closed", at(5), at(5, 8), at(5, 10), 2, 1),  # 10 h, late
    Filed("c3", "b1", "fraud", "resolved", at(10), at(12), at(11, 6), 4),  # 30 h, in SLA
    Filed("c4", "a3", "billing_dispute", "open", at(20), at(22)),
    Filed("c5", "a1", "service_attitude", "in_progress", at(21), at(23), reopen_count=2),
    Filed("c6", "b2", "other", "acknowledged", at(25), at(27)),
    # filed in March, resolved only in April
    Filed("c7", "a2", "fees", "resolved", at(31, 20), at(1, month=4), at(1, 2, month=4)),
    # filed in February, resolved at the first instant of March: 48 h, late
    Filed("c8", "a4", "fraud", "resolved", at(27, month=2), at(28, month=2), at(1), 1),
    # filed at the first instant of April: outside March
    Filed("c9", "a1", "rewards", "open", at(1, month=4), at(3, month=4)),
    # January to February: outside March entirely
    Filed(
        "c10", "b1", "collection", "closed", at(10, month=1), at(20, month=1), at(10, month=2), 5, 3
    ),
)

# June: ten complaints resolved after 7, 3, 10, 1, 9, 5, 2, 8, 4 and 6 hours, due after 5 h.
JUNE_HOURS = (7, 3, 10, 1, 9, 5, 2, 8, 4, 6)

# customer, kind, score, when
SURVEYS = (
    ("a1", "satisfaction_survey", 5, at(3)),
    ("b1", "satisfaction_survey", 3, at(15)),
    ("a3", "satisfaction_survey", 4, at(31, 23, 59)),
    ("a1", "satisfaction_survey", 1, at(28, 23, 59, month=2)),  # February
    ("a2", "service", 2, at(10)),  # not a survey
    ("a2", "satisfaction_survey", None, at(12)),  # no score given
    ("b2", "satisfaction_survey", 5, at(1, month=4)),  # April
)


@dataclass
class KpiWorld:
    database: Database
    branches: dict[str, uuid.UUID]


def _complaint(filed: Filed, customer: Customer) -> Complaint:
    return Complaint(
        customer_id=customer.id,
        branch_id=customer.branch_id,
        category=filed.category,
        status=filed.status,
        created_at=filed.created_at,
        updated_at=filed.created_at,
        due_at=filed.due_at,
        resolved_at=filed.resolved_at,
        satisfaction=filed.satisfaction,
        reopen_count=filed.reopen_count,
    )


def _june_complaints(customer: Customer) -> list[Complaint]:
    rows = []
    for day, hours in enumerate(JUNE_HOURS, start=1):
        created = at(day, month=6)
        filed = Filed(
            f"june-{day}",
            "a1",
            "fees",
            "resolved",
            created,
            created + timedelta(hours=5),
            created + timedelta(hours=hours),
        )
        rows.append(_complaint(filed, customer))
    return rows


def _event(complaint: Complaint, action: str, when: datetime | None = None) -> ComplaintEvent:
    return ComplaintEvent(
        complaint_id=complaint.id, action=action, actor_id="test", created_at=when or at(28)
    )


def _timeline(complaints: dict[str, Complaint]) -> list[ComplaintEvent]:
    """A filing event per complaint and an event per reopening: the timeline the KPIs ignore
    (they read ``reopen_count``), present so the world looks like a real one."""
    events = []
    for filed in COMPLAINTS:
        row = complaints[filed.name]
        events.append(_event(row, "file", filed.created_at))
        events += [_event(row, "reopen") for _ in range(filed.reopen_count)]
    return events


async def _spend(session: Any, customers: dict[str, Customer]) -> None:
    """A card per customer and the transactions of ``SPENT``."""
    cards = {
        key: Card(customer_id=row.id, product="金卡", bin="622848", last4=f"{index:04d}")
        for index, (key, row) in enumerate(customers.items())
    }
    session.add_all(cards.values())
    await session.flush()
    session.add_all(
        Transaction(
            card_id=cards[key].id,
            amount_cents=10_000,
            merchant_name="商户",
            occurred_at=when,
            natural_key=f"{key}-{when.isoformat()}",
        )
        for key, times in SPENT.items()
        for when in times
    )


async def _build(session: Any, ring: Any) -> dict[str, uuid.UUID]:
    await seed_demo(session, ring, customers=0, seed=1)
    branches = {b.code: b for b in (await session.scalars(select(Branch))).all()}
    tier = (await session.scalars(select(Tier).where(Tier.code == "standard"))).one()
    branches["GZ-TH"] = Branch(code="GZ-TH", name="广州天河支行")  # no customers at all
    session.add(branches["GZ-TH"])
    customers: dict[str, Customer] = {}
    for index, (key, branch, stage) in enumerate(CUSTOMERS, start=1):
        row, _, customer_key = new_customer_rows(
            ring, numbered_customer(index), branch_id=branches[branch].id, tier_id=tier.id
        )
        session.add(customer_key)
        row.lifecycle_stage, row.created_at = stage, at(1, month=1)
        customers[key] = row
    session.add_all(customers.values())
    await session.flush()
    await _spend(session, customers)
    complaints = {f.name: _complaint(f, customers[f.customer]) for f in COMPLAINTS}
    session.add_all([*complaints.values(), *_june_complaints(customers["a1"])])
    await session.flush()
    session.add_all(_timeline(complaints))
    session.add_all(
        Interaction(
            customer_id=customers[key].id,
            kind=kind,
            subject="回访",
            satisfaction=score,
            occurred_at=when,
        )
        for key, kind, score, when in SURVEYS
    )
    await session.commit()
    return {code: branch.id for code, branch in branches.items()}


@pytest.fixture
async def kpi_world(fresh_database: FreshDatabase) -> AsyncIterator[KpiWorld]:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            branches = await _build(session, ring)
        yield KpiWorld(database, branches)


async def _kpis(
    world: KpiWorld,
    principal: Principal,
    *,
    branch: uuid.UUID | None = None,
    period: tuple[datetime, datetime] = MARCH,
) -> ServiceKpis:
    async with world.database.session() as session:
        return await service_kpis(
            db=RequestDatabase(session),
            principal=principal,
            min_group_size=5,
            date_from=period[0],
            date_to=period[1],
            branch_id=branch,
        )


def _pairs(counts: Any) -> list[tuple[str, int]]:
    return [(c.key, c.count) for c in counts]


def _figures(kpis: ServiceKpis) -> dict[str, Any]:
    names = (
        "complaint_count",
        "active_customers",
        "complaint_rate",
        "resolved_count",
        "sla_compliance",
        "mean_hours_to_resolve",
        "p90_hours_to_resolve",
        "reopen_rate",
    )
    return {**{name: getattr(kpis, name) for name in names}, **asdict(kpis.csat)}


async def test_all_branches_match_the_hand_count(kpi_world: KpiWorld) -> None:
    kpis = await _kpis(kpi_world, staff_principal(Role.ADMIN))

    # filed in March: c1..c7
    assert _pairs(kpis.counts_by_status) == [
        ("open", 1),  # c4
        ("acknowledged", 1),  # c6
        ("in_progress", 1),  # c5
        ("resolved", 3),  # c1 c3 c7
        ("closed", 1),  # c2
    ]
    assert _pairs(kpis.counts_by_category) == [
        ("billing_dispute", 2),  # c1 c4
        ("fees", 2),  # c2 c7
        ("service_attitude", 1),  # c5
        ("fraud", 1),  # c3
        ("rewards", 0),
        ("collection", 0),
        ("other", 1),  # c6
    ]
    assert _figures(kpis) == pytest.approx(
        {
            "complaint_count": 7,
            "active_customers": 4,  # a1 a2 a3 b1
            "complaint_rate": 7 * 1000 / 4,
            "resolved_count": 4,  # c1 c2 c3 c8
            "sla_compliance": 2 / 4,  # c1 c3
            "mean_hours_to_resolve": (2 + 10 + 30 + 48) / 4,
            "p90_hours_to_resolve": 48,  # rank ceil(3.6) = 4
            "reopen_rate": 2 / 7,  # c2 c5
            "ratings_mean": (5 + 2 + 4) / 3,  # c1 c2 c3
            "ratings_count": 3,
            "surveys_mean": (5 + 3 + 4) / 3,
            "surveys_count": 3,
            "combined_mean": (5 + 2 + 4 + 5 + 3 + 4) / 6,
            "satisfied_share": 4 / 6,  # 5 4 5 4
        }
    )


async def test_a_supervisor_gets_their_own_branch_without_asking(kpi_world: KpiWorld) -> None:
    supervisor = staff_principal(Role.SUPERVISOR, kpi_world.branches["BJ-CY"])
    kpis = await _kpis(kpi_world, supervisor)

    assert kpis.branch_id == kpi_world.branches["BJ-CY"]
    # filed in March in BJ-CY: c1 c2 c4 c5 c7
    assert _pairs(kpis.counts_by_status) == [
        ("open", 1),
        ("acknowledged", 0),
        ("in_progress", 1),
        ("resolved", 2),
        ("closed", 1),
    ]
    assert dict(_pairs(kpis.counts_by_category)) == {
        "billing_dispute": 2,
        "fees": 2,
        "service_attitude": 1,
        "fraud": 0,
        "rewards": 0,
        "collection": 0,
        "other": 0,
    }
    assert _figures(kpis) == pytest.approx(
        {
            "complaint_count": 5,
            "active_customers": 3,
            "complaint_rate": 5 * 1000 / 3,
            "resolved_count": 3,  # c1 c2 c8
            "sla_compliance": 1 / 3,
            "mean_hours_to_resolve": (2 + 10 + 48) / 3,
            "p90_hours_to_resolve": 48,  # rank ceil(2.7) = 3
            "reopen_rate": 2 / 5,
            "ratings_mean": (5 + 2) / 2,
            "ratings_count": 2,
            "surveys_mean": (5 + 4) / 2,
            "surveys_count": 2,
            "combined_mean": (5 + 2 + 5 + 4) / 4,
            "satisfied_share": 3 / 4,
        }
    )
    same = await _kpis(kpi_world, supervisor, branch=kpi_world.branches["BJ-CY"])
    assert same == kpis


async def test_an_admin_may_name_one_branch(kpi_world: KpiWorld) -> None:
    kpis = await _kpis(kpi_world, staff_principal(Role.ADMIN), branch=kpi_world.branches["SH-PD"])

    assert _figures(kpis) == pytest.approx(
        {
            "complaint_count": 2,  # c3 c6
            "active_customers": 1,  # b1
            "complaint_rate": 2000,
            "resolved_count": 1,  # c3
            "sla_compliance": 1,
            "mean_hours_to_resolve": 30,
            "p90_hours_to_resolve": 30,
            "reopen_rate": 0,
            "ratings_mean": 4,
            "ratings_count": 1,
            "surveys_mean": 3,
            "surveys_count": 1,
            "combined_mean": 3.5,
            "satisfied_share": 1 / 2,
        }
    )


async def test_a_branch_with_nothing_to_count_has_zeros_and_no_rates(kpi_world: KpiWorld) -> None:
    kpis = await _kpis(
        kpi_world, staff_principal(Role.MARKETER), branch=kpi_world.branches["GZ-TH"]
    )

    assert {count for _, count in _pairs(kpis.counts_by_status)} == {0}
    assert len(kpis.counts_by_category) == 7
    assert _figures(kpis) == {
        "complaint_count": 0,
        "active_customers": 0,
        "complaint_rate": None,
        "resolved_count": 0,
        "sla_compliance": None,
        "mean_hours_to_resolve": None,
        "p90_hours_to_resolve": None,
        "reopen_rate": None,
        "ratings_mean": None,
        "ratings_count": 0,
        "surveys_mean": None,
        "surveys_count": 0,
        "combined_mean": None,
        "satisfied_share": None,
    }


async def test_p90_is_the_nearest_rank_not_an_interpolation(kpi_world: KpiWorld) -> None:
    kpis = await _kpis(kpi_world, staff_principal(Role.AUDITOR), period=JUNE)

    assert kpis.resolved_count == 10
    assert kpis.p90_hours_to_resolve == pytest.approx(9)  # rank ceil(9.0) = 9 of 1..10
    assert kpis.mean_hours_to_resolve == pytest.approx(5.5)
    assert kpis.sla_compliance == pytest.approx(5 / 10)  # 1..5 h within the 5 h due time
    assert kpis.complaint_rate == pytest.approx(10 * 1000 / 4)


async def test_the_kpis_cost_the_same_few_statements_whatever_the_data(
    kpi_world: KpiWorld,
) -> None:
    statements = []
    for period in (MARCH, JUNE, EMPTY_YEAR):
        async with counting_statements() as counter:
            await _kpis(kpi_world, staff_principal(Role.ADMIN), period=period)
        statements.append(counter.value)
    assert statements == [7, 7, 7]  # aggregates only; naming a branch adds one lookup


async def test_a_supervisor_asking_for_another_branch_is_forbidden(kpi_world: KpiWorld) -> None:
    supervisor = staff_principal(Role.SUPERVISOR, kpi_world.branches["BJ-CY"])
    with pytest.raises(Forbidden, match="own branch"):
        await _kpis(kpi_world, supervisor, branch=kpi_world.branches["SH-PD"])


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ((MARCH[1], MARCH[0]), "later than"),
        ((MARCH[0], MARCH[0]), "later than"),
        ((MARCH[0], MARCH[0] + timedelta(days=367)), "366 days"),
        ((MARCH[0].replace(tzinfo=None), MARCH[1]), "UTC offset"),
    ],
)
async def test_a_bad_range_is_bad_user_input(
    kpi_world: KpiWorld, period: tuple[datetime, datetime], message: str
) -> None:
    with pytest.raises(BadUserInput, match=message):
        await _kpis(kpi_world, staff_principal(Role.ADMIN), period=period)


async def test_a_whole_leap_year_is_a_valid_range(kpi_world: KpiWorld) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    kpis = await _kpis(
        kpi_world, staff_principal(Role.ADMIN), period=(start, start + timedelta(days=366))
    )
    assert kpis.complaint_count == 0


async def test_naming_a_branch_that_does_not_exist_is_bad_user_input(
    kpi_world: KpiWorld,
) -> None:
    with pytest.raises(BadUserInput, match="no branch"):
        await _kpis(kpi_world, staff_principal(Role.ADMIN), branch=uuid.uuid4())


SERVICE_KPIS = """
query Service($from: DateTime!, $to: DateTime!, $branch: ID) {
  analytics {
    service(range: {from: $from, to: $to}, branch: $branch) {
      countsByStatus { key count }
      complaintRate
      slaCompliance
      csat { combinedMean satisfiedShare }
    }
  }
}
"""
MARCH_VARIABLES = {"from": "2025-03-01T00:00:00Z", "to": "2025-04-01T00:00:00Z"}


async def test_an_admin_reads_the_service_kpis_over_http(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-admin")
    body = await server.graphql(SERVICE_KPIS, MARCH_VARIABLES, token=token)
    assert "errors" not in body, body
    service = body["data"]["analytics"]["service"]
    assert [c["key"] for c in service["countsByStatus"]] == [
        "open",
        "acknowledged",
        "in_progress",
        "resolved",
        "closed",
    ]
    assert all(isinstance(c["count"], int) for c in service["countsByStatus"])
    assert service["complaintRate"] is None or service["complaintRate"] >= 0


async def test_callers_without_analytics_read_are_forbidden_over_http(
    server: Server, world: World
) -> None:
    """Agents, customers and partner merchants hold no ``analytics:read``, which the
    ``analytics`` field declares: refused there, before any figure is counted."""
    partner = await add_oauth_client(
        server.state, scopes="offers:read offers:redeem", merchant=f"partner {uuid.uuid4()}"
    )
    tokens = {
        "agent": staff_token(server, world, "demo-agent"),
        "customer": customer_token(server, world.alice.id),
        "merchant": await client_credentials_token(server.client, partner),
    }
    for who, token in tokens.items():
        body = await server.graphql(SERVICE_KPIS, MARCH_VARIABLES, token=token)
        # `analytics` needs a staff token; its figures declare their scopes (agents reach
        # `analytics` for their service-stars row, and are refused at the figures).
        refused_at = {"analytics": {"service": None}} if who == "agent" else {"analytics": None}
        assert body["data"] == refused_at, who
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], who
        if who == "agent":
            assert "analytics:read" in body["errors"][0]["message"], who


async def test_a_supervisor_is_limited_to_their_branch_over_http(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-supervisor")
    own = to_global_id("Branch", world.branches["BJ-CY"].id)
    other = to_global_id("Branch", world.branches["SH-PD"].id)
    mine = await server.graphql(SERVICE_KPIS, {**MARCH_VARIABLES, "branch": own}, token=token)
    assert "errors" not in mine, mine
    body = await server.graphql(SERVICE_KPIS, {**MARCH_VARIABLES, "branch": other}, token=token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["path"] == ["analytics", "service"]


@pytest.mark.parametrize(
    "variables",
    [
        {"from": "2025-04-01T00:00:00Z", "to": "2025-03-01T00:00:00Z"},
        {"from": "2024-01-01T00:00:00Z", "to": "2025-03-01T00:00:00Z"},
        {**MARCH_VARIABLES, "branch": to_global_id("Customer", uuid.uuid4())},
    ],
)
async def test_a_bad_range_or_branch_is_bad_user_input_over_http(
    server: Server, world: World, variables: dict[str, str]
) -> None:
    token = staff_token(server, world, "demo-admin")
    body = await server.graphql(SERVICE_KPIS, variables, token=token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


BOTH_ACTIVE = """
query Both($from: DateTime!, $to: DateTime!) {
  analytics {
    service(range: {from: $from, to: $to}) { activeCustomers complaintRate complaintCount }
    growth(range: {from: $from, to: $to}) { active { part whole } }
  }
}
"""


async def test_service_and_growth_count_the_same_active_customers_on_the_demo_data(
    server: Server, world: World
) -> None:
    """The demo world holds no transactions; a fresh customer spends once, five days ago."""
    spender = await add_customer(server.state, world, seed=4242)
    now = datetime.now(UTC)
    async with server.state.database.session() as session:
        card = (await session.scalars(select(Card).where(Card.customer_id == spender))).one()
        session.add(
            Transaction(
                card_id=card.id,
                amount_cents=5_000,
                merchant_name="便利店",
                occurred_at=now - timedelta(days=5),
                natural_key=f"active-{spender}",
            )
        )
        await session.commit()
    variables = {"from": (now - timedelta(days=90)).isoformat(), "to": now.isoformat()}

    body = await server.graphql(
        BOTH_ACTIVE, variables, token=staff_token(server, world, "demo-admin")
    )

    assert "errors" not in body, body
    service, growth = body["data"]["analytics"]["service"], body["data"]["analytics"]["growth"]
    assert service["activeCustomers"] > 0
    assert service["activeCustomers"] == growth["active"]["part"]
    assert service["complaintRate"] == pytest.approx(
        service["complaintCount"] * 1000 / service["activeCustomers"]
    )
