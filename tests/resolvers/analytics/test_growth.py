"""Growth KPIs against a hand count.

Given a small world whose every customer, card, transaction, stage change, tier change and
offer assignment is written out below, when ``growth_kpis`` is asked for March 2025, then each
figure equals what counting by hand gives (worked out next to each expectation); a marketer
sees the groups of fewer than five customers suppressed. The HTTP tests check the field is
wired and guarded.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from api.demo.seed import seed_demo
from core.database import Database, counting_statements
from core.identity import Principal, Role
from core.request_database import RequestDatabase
from models.cards.card import Card
from models.customers.customer import Customer, LifecycleHistory
from models.growth.offer import Offer, OfferAssignment
from models.growth.tier import Tier, TierHistory
from models.merchants.merchant import Merchant
from models.organisation.organisation import Branch
from models.transactions.transaction import Transaction
from resolvers.analytics.growth import GrowthKpis, growth_kpis
from resolvers.customers.records import new_customer_rows
from tests.conftest import Server, customer_token, staff_token
from tests.models.conftest import FreshDatabase
from tests.support import (
    World,
    add_oauth_client,
    client_credentials_token,
    numbered_customer,
    staff_principal,
)

MARCH = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
MIN_GROUP = 5


def at(day: int, month: int = 3, year: int = 2025) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


LONG_AGO = at(1, 6, 2024)

# key, branch, tier, stage, created
CUSTOMERS = (
    ("c1", "BJ-CY", "standard", "active", LONG_AGO),
    ("c2", "BJ-CY", "standard", "active", LONG_AGO),
    ("c3", "BJ-CY", "silver", "loyal", LONG_AGO),
    ("c4", "BJ-CY", "gold", "dormant", LONG_AGO),
    ("c5", "BJ-CY", "standard", "at_risk", LONG_AGO),
    ("c6", "SH-PD", "standard", "active", LONG_AGO),
    ("c7", "SH-PD", "platinum", "churned", LONG_AGO),
    ("c8", "SH-PD", "standard", "new", at(15)),
)

# card, customer, issued, activated
CARDS = (
    ("k1", "c1", at(2), at(3)),
    ("k2", "c2", at(5), at(2, 4)),  # activated in April: not within March
    ("k3", "c3", at(10), None),
    ("k4", "c6", at(20), at(21)),
    ("k5", "c8", at(15), at(16)),
    ("k6", "c4", LONG_AGO, LONG_AGO),
    ("k7", "c5", LONG_AGO, LONG_AGO),
    ("k8", "c7", LONG_AGO, None),
)

# card, amount in cents, when
TRANSACTIONS = (
    ("k1", 12_000, at(4)),
    ("k1", 3_000, at(9)),
    ("k2", 8_800, at(6)),
    ("k4", 50_000, at(22)),
    ("k6", 1_000, at(10, 2)),  # February
    ("k7", 2_000, datetime(2025, 4, 1, tzinfo=UTC)),  # the first instant of April
)

# customer, to stage, when
STAGE_CHANGES = (
    ("c7", "churned", at(10)),
    ("c5", "churned", at(10, 2)),  # February
    ("c5", "at_risk", at(12)),
)

# customer, from tier, to tier, change, when
TIER_CHANGES = (
    ("c3", "standard", "silver", "upgrade", at(5)),
    ("c4", "silver", "gold", "upgrade", at(6)),
    ("c7", "gold", "platinum", "override", at(7)),
    ("c2", "silver", "standard", "downgrade", at(20, 2)),  # February
)

# offer, merchant, title
OFFERS = (("o1", "m1", "拿铁八折"), ("o2", "m1", "甜点买一送一"), ("o3", "m2", "机票立减"))
MERCHANTS = (("m1", "街角咖啡"), ("m2", "远方旅行社"))


@dataclass(frozen=True)
class Assigned:
    offer: str
    customer: str
    targeted: datetime
    viewed: bool = False
    accepted: bool = False
    redeemed_cents: int | None = None


ASSIGNMENTS = (
    Assigned("o1", "c1", at(2), True, True, 10_000),
    Assigned("o1", "c2", at(2), True, True, 5_050),
    Assigned("o1", "c3", at(2), True, True),
    Assigned("o1", "c4", at(2), True, True),
    Assigned("o1", "c5", at(2), True),
    Assigned("o1", "c6", at(2)),
    Assigned("o2", "c1", at(3), True),
    Assigned("o2", "c2", at(3)),
    Assigned("o3", "c6", at(20, 2)),  # February
    Assigned("o3", "c7", at(20, 2)),  # February
    Assigned("o3", "c8", at(20), True, True),
)


@dataclass
class GrowthWorld:
    database: Database
    branches: dict[str, uuid.UUID]


def _assignment(item: Assigned, offers: dict[str, Offer], customers: dict[str, Customer]) -> Any:
    later = item.targeted.replace(hour=18)
    return OfferAssignment(
        offer_id=offers[item.offer].id,
        customer_id=customers[item.customer].id,
        status="redeemed" if item.redeemed_cents else "accepted" if item.accepted else "viewed",
        targeted_at=item.targeted,
        viewed_at=later if item.viewed else None,
        accepted_at=later if item.accepted else None,
        redeemed_at=later if item.redeemed_cents else None,
        redeemed_amount_cents=item.redeemed_cents,
    )


async def _build(session: Any, ring: Any) -> dict[str, uuid.UUID]:
    await seed_demo(session, ring, customers=0, seed=1)
    branches = {b.code: b.id for b in (await session.scalars(select(Branch))).all()}
    tiers = {t.code: t.id for t in (await session.scalars(select(Tier))).all()}
    customers: dict[str, Customer] = {}
    for index, (key, branch, tier, stage, created) in enumerate(CUSTOMERS, start=1):
        row, _, customer_key = new_customer_rows(
            ring, numbered_customer(index), branch_id=branches[branch], tier_id=tiers[tier]
        )
        session.add(customer_key)
        row.lifecycle_stage, row.created_at = stage, created
        customers[key] = row
    session.add_all(customers.values())
    await session.flush()
    cards = {
        key: Card(
            customer_id=customers[owner].id,
            product="金卡",
            bin="622848",
            last4=f"{index:04d}",
            status="activated" if activated else "issued",
            issued_at=issued,
            activated_at=activated,
        )
        for index, (key, owner, issued, activated) in enumerate(CARDS)
    }
    merchants = {key: Merchant(name=name) for key, name in MERCHANTS}
    session.add_all([*cards.values(), *merchants.values()])
    await session.flush()
    offers = {
        key: Offer(merchant_id=merchants[m].id, title=title, starts_at=at(1), ends_at=at(30, 6))
        for key, m, title in OFFERS
    }
    session.add_all(offers.values())
    await session.flush()
    session.add_all(
        Transaction(
            card_id=cards[card].id,
            amount_cents=amount,
            merchant_name="商户",
            occurred_at=when,
            natural_key=f"t{index}",
        )
        for index, (card, amount, when) in enumerate(TRANSACTIONS)
    )
    session.add_all(
        LifecycleHistory(
            customer_id=customers[key].id, to_stage=stage, reason="test", created_at=when
        )
        for key, stage, when in STAGE_CHANGES
    )
    session.add_all(
        TierHistory(
            customer_id=customers[key].id,
            from_tier_id=tiers[old],
            to_tier_id=tiers[new],
            change=change,
            reason="test",
            created_at=when,
        )
        for key, old, new, change, when in TIER_CHANGES
    )
    session.add_all(_assignment(item, offers, customers) for item in ASSIGNMENTS)
    await session.commit()
    return branches


@pytest.fixture
async def growth_world(fresh_database: FreshDatabase) -> AsyncIterator[GrowthWorld]:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            branches = await _build(session, ring)
        yield GrowthWorld(database, branches)


async def _kpis(
    world: GrowthWorld, principal: Principal, *, branch: uuid.UUID | None = None
) -> GrowthKpis:
    async with world.database.session() as session:
        return await growth_kpis(
            db=RequestDatabase(session),
            principal=principal,
            min_group_size=MIN_GROUP,
            date_from=MARCH[0],
            date_to=MARCH[1],
            branch_id=branch,
        )


def _pairs(counts: Any) -> list[tuple[str, int | None]]:
    return [(c.key, c.count) for c in counts]


def _funnel(funnel: Any) -> tuple[Any, ...]:
    return (
        funnel.targeted,
        funnel.viewed,
        funnel.accepted,
        funnel.redeemed,
        funnel.redeemed_amount_cents,
        funnel.redemption_rate,
    )


async def test_an_admin_sees_every_figure_as_counted_by_hand(growth_world: GrowthWorld) -> None:
    kpis = await _kpis(growth_world, staff_principal(Role.ADMIN))

    assert kpis.customers == 8
    assert _pairs(kpis.by_tier) == [
        ("standard", 5),  # c1 c2 c5 c6 c8
        ("silver", 1),
        ("gold", 1),
        ("platinum", 1),
        ("diamond", 0),
    ]
    assert _pairs(kpis.by_stage) == [
        ("prospect", 0),
        ("new", 1),
        ("active", 3),  # c1 c2 c6
        ("loyal", 1),
        ("dormant", 1),
        ("at_risk", 1),
        ("churned", 1),
    ]
    assert (kpis.dormant, kpis.at_risk) == (1, 1)
    # issued in March: k1..k5; activated before April: k1 k4 k5
    assert kpis.card_activation.part == 3
    assert kpis.card_activation.whole == 5
    assert kpis.card_activation.rate == pytest.approx(3 / 5)
    # transacted in March: c1 c2 c6, of 8 customers existing before April
    assert (kpis.active.part, kpis.active.whole) == (3, 8)
    assert kpis.active.rate == pytest.approx(3 / 8)
    # churned in March: c7, of the 7 customers existing on 1 March (c8 came later)
    assert (kpis.churn.part, kpis.churn.whole) == (1, 7)
    assert _pairs(kpis.tier_movements) == [("upgrade", 2), ("downgrade", 0), ("override", 1)]
    # targeted in March: o1 ×6, o2 ×2, o3 ×1 (c8)
    assert _funnel(kpis.funnel) == (9, 7, 5, 2, 15_050, pytest.approx(2 / 9))
    assert kpis.funnel.suppressed is False
    by_offer = {item.title: _funnel(item.funnel) for item in kpis.by_offer}
    assert by_offer == {
        "拿铁八折": (6, 5, 4, 2, 15_050, pytest.approx(2 / 6)),
        "甜点买一送一": (2, 1, 0, 0, 0, 0.0),
        "机票立减": (1, 1, 1, 0, 0, 0.0),
    }
    by_merchant = {item.merchant_name: _funnel(item.funnel) for item in kpis.by_merchant}
    assert by_merchant == {
        "街角咖啡": (8, 6, 4, 2, 15_050, pytest.approx(2 / 8)),
        "远方旅行社": (1, 1, 1, 0, 0, 0.0),
    }
    assert kpis.min_group_size is None


async def test_a_marketer_sees_groups_of_fewer_than_five_customers_suppressed(
    growth_world: GrowthWorld,
) -> None:
    kpis = await _kpis(growth_world, staff_principal(Role.MARKETER))

    assert kpis.min_group_size == MIN_GROUP
    # 8 in all, but 8 minus the 5 standard would give away the 3 in the hidden tiers
    assert kpis.customers is None
    assert _pairs(kpis.by_tier) == [
        ("standard", 5),
        ("silver", None),
        ("gold", None),
        ("platinum", None),
        ("diamond", 0),  # nobody is no one to single out
    ]
    assert (kpis.dormant, kpis.at_risk) == (None, None)
    # 3 activated of 5: the part is too small, so the rate would give it away
    assert (kpis.card_activation.part, kpis.card_activation.whole) == (None, 5)
    assert kpis.card_activation.rate is None
    assert (kpis.churn.part, kpis.churn.rate) == (None, None)
    # Totals over offers are hidden when their hidden cells add up to fewer than five:
    # targeted 6 + (2 + 1 hidden), viewed 5 + (1 + 1), redeemed (2) + 0 + 0 are hidden;
    # accepted (4) + 0 + (1) hides five customers, as many as a group may have, so it shows.
    assert _funnel(kpis.funnel) == (None, None, 5, None, None, None)
    assert kpis.funnel.suppressed is True
    coffee = next(item for item in kpis.by_merchant if item.merchant_name == "街角咖啡")
    # 街角咖啡 = 拿铁 + 甜点: targeted 6 + (2), viewed 5 + (1), accepted (4) + 0: showing any
    # total next to the latte's visible cells would reveal the dessert's
    assert _funnel(coffee.funnel) == (None, None, None, None, None, None)
    latte = next(item for item in kpis.by_offer if item.title == "拿铁八折")
    assert _funnel(latte.funnel) == (6, 5, None, None, None, None)


async def test_a_supervisor_counts_their_own_branch_only(growth_world: GrowthWorld) -> None:
    beijing = growth_world.branches["BJ-CY"]
    kpis = await _kpis(growth_world, staff_principal(Role.SUPERVISOR, beijing))

    assert kpis.branch_id == beijing
    assert kpis.customers == 5  # c1..c5
    # issued in March in Beijing: k1 k2 k3, activated in March: k1
    assert (kpis.card_activation.part, kpis.card_activation.whole) == (1, 3)
    assert (kpis.active.part, kpis.active.whole) == (2, 5)  # c1 c2
    assert (kpis.churn.part, kpis.churn.whole) == (0, 5)  # c5 churned in February
    # Beijing customers targeted in March: o1 c1..c5, o2 c1 c2
    assert _funnel(kpis.funnel) == (7, 6, 4, 2, 15_050, pytest.approx(2 / 7))


async def test_the_kpis_cost_a_fixed_number_of_statements(growth_world: GrowthWorld) -> None:
    async with counting_statements() as counter:
        await _kpis(growth_world, staff_principal(Role.ADMIN))
    # aggregates only, whatever the data; the tier and stage breakdowns are one read of the
    # kept customer_counts (issue 17), where they were two counts over customers
    assert counter.value == 6


GROWTH_KPIS = """
query Growth($from: DateTime!, $to: DateTime!) {
  analytics {
    growth(range: {from: $from, to: $to}) {
      customers
      customersByTier { key count }
      customersByStage { key count }
      cardActivation { part whole rate }
      active { rate }
      churn { rate }
      tierMovements { key count }
      offerFunnel { targeted viewed accepted redeemed redeemedAmount redemptionRate suppressed }
      offers { offerId title merchantName funnel { targeted suppressed } }
      merchants { merchantId merchantName funnel { redeemed } }
      minGroupSize
    }
  }
}
"""
MARCH_VARIABLES = {"from": "2025-03-01T00:00:00Z", "to": "2025-04-01T00:00:00Z"}


async def test_a_marketer_reads_the_growth_kpis_over_http(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-marketer")
    body = await server.graphql(GROWTH_KPIS, MARCH_VARIABLES, token=token)
    assert "errors" not in body, body
    growth = body["data"]["analytics"]["growth"]
    assert [item["key"] for item in growth["customersByTier"]] == [
        "standard",
        "silver",
        "gold",
        "platinum",
        "diamond",
    ]
    assert growth["minGroupSize"] == server.state.settings.stats_min_group_size
    counts = [item["count"] for item in growth["customersByStage"]]
    assert all(count is None or count == 0 or count >= 5 for count in counts)


async def test_callers_without_analytics_read_are_forbidden_over_http(
    server: Server, world: World
) -> None:
    """Agents, customers, partner merchants and service accounts hold no ``analytics:read``,
    which the figures declare: refused before any figure is counted (at ``analytics``, which
    needs a staff token, for all but the agent)."""
    partner = await add_oauth_client(
        server.state, scopes="offers:read offers:redeem", merchant=f"partner {uuid.uuid4()}"
    )
    feed = await add_oauth_client(server.state, scopes="transactions:write", name="feed")
    tokens = {
        "agent": staff_token(server, world, "demo-agent"),
        "customer": customer_token(server, world.alice.id),
        "merchant": await client_credentials_token(server.client, partner),
        "service": await client_credentials_token(server.client, feed),
    }
    for who, token in tokens.items():
        body = await server.graphql(GROWTH_KPIS, MARCH_VARIABLES, token=token)
        # `analytics` needs a staff token; its figures declare their scopes (agents reach
        # `analytics` for their service-stars row, and are refused at the figures).
        refused_at = {"analytics": {"growth": None}} if who == "agent" else {"analytics": None}
        assert body["data"] == refused_at, who
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], who
        if who == "agent":
            assert "analytics:read" in body["errors"][0]["message"], who
