"""Risk KPIs against a hand count.

Given the world of ``support_risk`` (every card, statement, repayment, collection case and
contact, alert and limit decision written out there), when ``risk_kpis`` is asked for April
2026, then each figure equals what counting by hand gives (worked out next to each
expectation); a supervisor counts their branch only, a range with nothing in it counts
nothing, and the cost is a fixed number of statements. The HTTP tests check the field is
wired and guarded per role.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from core.database import Database, counting_statements
from core.errors import BadUserInput, Forbidden
from core.identity import Principal, Role, Scope
from core.request_database import RequestDatabase
from resolvers.analytics.risk import RiskKpis, risk_kpis
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.models.conftest import FreshDatabase
from tests.resolvers.analytics.support_risk import APRIL, RiskWorld, build_risk_world
from tests.resolvers.cards.support_statements import add_card, book, close
from tests.support import (
    World,
    add_oauth_client,
    client_credentials_token,
    staff_principal,
)

ZONE = "Asia/Shanghai"


@pytest.fixture
async def database(fresh_database: FreshDatabase) -> AsyncIterator[Database]:
    async with fresh_database.database() as database:
        yield database


@pytest.fixture
async def risk_world(database: Database) -> RiskWorld:
    async with database.session() as session:
        return await build_risk_world(session)


async def _kpis(
    database: Database,
    principal: Principal,
    *,
    branch: uuid.UUID | None = None,
    span: tuple[datetime, datetime] = APRIL,
) -> RiskKpis:
    async with database.session() as session:
        return await risk_kpis(
            db=RequestDatabase(session),
            principal=principal,
            timezone=ZONE,
            date_from=span[0],
            date_to=span[1],
            branch_id=branch,
        )


def _buckets(kpis: RiskKpis) -> list[tuple[str, int, int]]:
    return [(b.bucket, b.cards, b.balance_cents) for b in kpis.overdue.buckets]


def _rolls(kpis: RiskKpis) -> list[tuple[Any, ...]]:
    return [(r.from_bucket, r.to_bucket, r.count, r.rolled, r.cured) for r in kpis.roll_rates]


def _alerts(kpis: RiskKpis) -> dict[str, tuple[Any, ...]]:
    figures = [*kpis.alerts, kpis.alert_total]
    return {a.rule: (a.count, a.resolved, a.confirmed_fraud, a.fraud_share) for a in figures}


async def test_a_risk_officer_sees_every_figure_as_counted_by_hand(
    database: Database, risk_world: RiskWorld
) -> None:
    kpis = await _kpis(database, staff_principal(Role.RISK_OFFICER))

    assert kpis.branch_id is None
    # Cards with a statement, by bucket now, with their latest statement's balance:
    # current k1 200 + k4 (−50 counts 0) + k9 0 + k7 80; m1 k2 600 + k8 400; m2 k3 350;
    # M6+ k6 1100 (its May statement); k5 has no statement.
    assert _buckets(kpis) == [
        ("current", 4, 28_000),
        ("m1", 2, 100_000),
        ("m2", 1, 35_000),
        ("m3", 0, 0),
        ("m4", 0, 0),
        ("m5", 0, 0),
        ("m6", 0, 0),
        ("m6_plus", 1, 110_000),
    ]
    overdue = kpis.overdue
    assert (overdue.cards, overdue.overdue_cards, overdue.card_rate) == (8, 4, 0.5)
    assert (overdue.balance_cents, overdue.overdue_balance_cents) == (273_000, 245_000)
    assert overdue.balance_rate == pytest.approx(245_000 / 273_000)

    # Pairs whose later statement closed in April: k1 current→current, k2 current→m1,
    # k3 m1→m2, k8 m1→m1, k4 m2→current, k6 m6→m6+; not k9 (its March bucket is unknown),
    # k7 (closed 31 March 16:00 UTC) nor k6's May statement.
    assert _rolls(kpis) == [
        ("current", "m1", 2, 1, None),
        ("m1", "m2", 2, 1, 0),
        ("m2", "m3", 1, 0, 1),
        ("m3", "m4", 0, 0, 0),
        ("m4", "m5", 0, 0, 0),
        ("m5", "m6", 0, 0, 0),
        ("m6", "m6_plus", 1, 1, 0),
    ]
    rates = [(r.rate, r.cure_rate) for r in kpis.roll_rates]
    assert rates == [
        (0.5, None),
        (0.5, 0.0),
        (0.0, 1.0),
        (None, None),
        (None, None),
        (None, None),
        (1.0, 0.0),
    ]

    collections = kpis.collections
    # Open in April: case1 case2 case3 case5 case6 (case4 closed in March, case7 opened in
    # May); cured in April: case3; contacted in April: case1 case3 case5 case6.
    assert (collections.cases, collections.cured, collections.contacted) == (5, 1, 4)
    assert (collections.cure_rate, collections.contact_rate) == (0.2, 0.8)
    # Promises for April days: case1's (60 promised for 10 April: 30 + 30 repaid after the
    # contact, the last at 23:00 Shanghai time) kept; case3's (100 for 12 April, repaid at
    # 02:00 on the 13th Shanghai time) broken; case2's is March's, case6's May's.
    assert (collections.promises, collections.kept, collections.promise_kept_rate) == (2, 1, 0.5)

    # Raised in April: velocity 4 (resolved 3, fraud 2), amount spike 1 (a false positive),
    # inactive card use 1 (escalated: not resolved); the foreign-currency alert is March's.
    assert _alerts(kpis) == {
        "velocity": (4, 3, 2, pytest.approx(2 / 3)),
        "amount_spike": (1, 1, 0, 0.0),
        "unusual_category_hour": (0, 0, 0, None),
        "foreign_currency": (0, 0, 0, None),
        "inactive_card_use": (1, 0, 0, None),
        "grade_worsened": (0, 0, 0, None),
        "all": (6, 4, 2, 0.5),
    }

    limits = kpis.limits
    # Made in April: k2 k3 k4 k9 k6; approved in April: k1 (made in March) and k6 (k9's in
    # May); rejected k3; cancelled k4 (its last update); risk decreases k6 and k3 in April.
    assert (limits.requested, limits.approved, limits.rejected, limits.cancelled) == (5, 2, 1, 1)
    assert limits.risk_decreases == 2


async def test_a_supervisor_counts_their_own_branch_only(
    database: Database, risk_world: RiskWorld
) -> None:
    branch_a = risk_world.branches["A"]
    kpis = await _kpis(database, staff_principal(Role.SUPERVISOR, branch_a))

    assert kpis.branch_id == branch_a
    # Branch A: k1 k2 k3 k4 k9
    assert _buckets(kpis)[:3] == [("current", 3, 20_000), ("m1", 1, 60_000), ("m2", 1, 35_000)]
    assert (kpis.overdue.cards, kpis.overdue.overdue_cards) == (5, 2)
    assert (kpis.overdue.balance_cents, kpis.overdue.overdue_balance_cents) == (115_000, 95_000)
    assert _rolls(kpis)[:3] == [
        ("current", "m1", 2, 1, None),
        ("m1", "m2", 1, 1, 0),
        ("m2", "m3", 1, 0, 1),
    ]
    assert _rolls(kpis)[6] == ("m6", "m6_plus", 0, 0, 0)
    c = kpis.collections
    assert (c.cases, c.cured, c.contacted, c.promises, c.kept) == (3, 1, 2, 2, 1)
    assert _alerts(kpis)["velocity"] == (3, 2, 1, 0.5)
    assert _alerts(kpis)["all"] == (4, 3, 1, pytest.approx(1 / 3))
    limits = kpis.limits
    assert (limits.requested, limits.approved, limits.rejected, limits.cancelled) == (4, 1, 1, 1)
    assert limits.risk_decreases == 1

    with pytest.raises(Forbidden):
        await _kpis(
            database,
            staff_principal(Role.SUPERVISOR, branch_a),
            branch=risk_world.branches["B"],
        )


async def test_all_branch_roles_count_any_branch_they_name(
    database: Database, risk_world: RiskWorld
) -> None:
    for role in (Role.RISK_OFFICER, Role.AUDITOR, Role.ADMIN):
        kpis = await _kpis(database, staff_principal(role), branch=risk_world.branches["B"])
        # Branch B: k6 k7 k8
        assert (kpis.overdue.cards, kpis.overdue.overdue_cards) == (3, 2), role
        c = kpis.collections
        assert (c.cases, c.cured, c.contacted, c.promises) == (2, 0, 2, 0), role
        assert c.promise_kept_rate is None
        assert _alerts(kpis)["all"] == (2, 1, 1, 1.0), role
        assert (kpis.limits.requested, kpis.limits.approved, kpis.limits.risk_decreases) == (
            1,
            1,
            1,
        )
    with pytest.raises(BadUserInput):
        await _kpis(database, staff_principal(Role.RISK_OFFICER), branch=uuid.uuid4())


async def test_a_range_with_nothing_in_it_counts_nothing_but_the_snapshot(
    database: Database, risk_world: RiskWorld
) -> None:
    span = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC))
    kpis = await _kpis(database, staff_principal(Role.RISK_OFFICER), span=span)

    assert kpis.overdue.cards == 8  # a snapshot: the range does not apply
    assert all(r.count == r.rolled == 0 and r.rate is None for r in kpis.roll_rates)
    c = kpis.collections
    assert (c.cases, c.cured, c.contacted, c.promises, c.kept) == (0, 0, 0, 0, 0)
    assert (c.cure_rate, c.contact_rate, c.promise_kept_rate) == (None, None, None)
    assert _alerts(kpis)["all"] == (0, 0, 0, None)
    limits = kpis.limits
    assert (limits.requested, limits.approved, limits.rejected, limits.cancelled) == (0, 0, 0, 0)
    assert limits.risk_decreases == 0


async def test_an_empty_database_counts_zero_cards(database: Database) -> None:
    kpis = await _kpis(database, staff_principal(Role.RISK_OFFICER))
    assert kpis.overdue.cards == kpis.overdue.balance_cents == 0
    assert (kpis.overdue.card_rate, kpis.overdue.balance_rate) == (None, None)


async def test_the_kpis_cost_a_fixed_number_of_statements(
    database: Database, risk_world: RiskWorld
) -> None:
    async with counting_statements() as counter:
        await _kpis(database, staff_principal(Role.RISK_OFFICER))
    assert counter.value == 6  # aggregates only, whatever the data


async def test_roll_rates_read_the_buckets_statements_close_records(
    fresh_database: FreshDatabase, database: Database
) -> None:
    """From ``statements close`` to the KPI: a missed minimum rolls current → M1 in
    February and M1 → M2 in March (``tests/resolvers/cards/test_statement_buckets.py``)."""
    async with database.session() as session:
        card = await add_card(session)
        await book(session, card.id, [("purchase", "1000.00", "2026-01-03T10:00:00+08:00")])
        await session.commit()
    for as_of in ("2026-01-15", "2026-02-15", "2026-03-15"):
        await close(database, fresh_database.settings, as_of)
    officer = staff_principal(Role.RISK_OFFICER)
    february = (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    march = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    rolls = {span: _rolls(await _kpis(database, officer, span=span)) for span in (february, march)}
    assert rolls[february][:2] == [("current", "m1", 1, 1, None), ("m1", "m2", 0, 0, 0)]
    assert rolls[march][:2] == [("current", "m1", 0, 0, None), ("m1", "m2", 1, 1, 0)]
    kpis = await _kpis(database, officer, span=march)
    assert [(b.bucket, b.cards) for b in kpis.overdue.buckets if b.cards] == [("m2", 1)]


RISK_KPIS = """
query Risk($from: DateTime!, $to: DateTime!, $branch: ID) {
  analytics {
    risk(range: {from: $from, to: $to}, branch: $branch) {
      overdue { buckets { bucket cards balance } cards overdueRate balance overdueBalance }
      rollRates { from to count rolled rate cured cureRate }
      collections { cases cureRate contactRate promises promiseKeptRate }
      alerts { rule count confirmedFraud confirmedFraudShare }
      alertTotal { rule count }
      limitDecisions { requested approved rejected cancelled riskDecreases }
    }
  }
}
"""
APRIL_VARIABLES = {"from": "2026-04-01T00:00:00Z", "to": "2026-05-01T00:00:00Z"}


@pytest.mark.parametrize("username", ["demo-risk", "demo-auditor", "demo-admin"])
async def test_risk_readers_read_the_risk_kpis_over_http(
    server: Server, world: World, username: str
) -> None:
    body = await server.graphql(
        RISK_KPIS, APRIL_VARIABLES, token=staff_token(server, world, username)
    )
    assert "errors" not in body, body
    risk = body["data"]["analytics"]["risk"]
    assert [item["bucket"] for item in risk["overdue"]["buckets"]] == [
        "CURRENT",
        "M1",
        "M2",
        "M3",
        "M4",
        "M5",
        "M6",
        "M6_PLUS",
    ]
    assert [(r["from"], r["to"]) for r in risk["rollRates"]] == [
        ("CURRENT", "M1"),
        ("M1", "M2"),
        ("M2", "M3"),
        ("M3", "M4"),
        ("M4", "M5"),
        ("M5", "M6"),
        ("M6", "M6_PLUS"),
    ]
    assert risk["rollRates"][0]["cured"] is None
    assert risk["alertTotal"]["rule"] == "all"
    assert isinstance(risk["overdue"]["balance"], str)  # Decimal yuan


async def test_a_supervisor_gets_their_branch_and_may_not_name_another_over_http(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-supervisor")
    own = await server.graphql(RISK_KPIS, APRIL_VARIABLES, token=token)
    assert "errors" not in own, own
    other = world.branches["SH-PD"].id
    assert other != world.staff["demo-supervisor"].branch_id
    variables = {**APRIL_VARIABLES, "branch": to_global_id("Branch", other)}
    body = await server.graphql(RISK_KPIS, variables, token=token)
    assert body["data"]["analytics"]["risk"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


async def test_a_marketer_holds_analytics_but_not_risk_read_over_http(
    server: Server, world: World
) -> None:
    """Marketers read the other analytics (suppressed); risk KPIs need ``risk:read``."""
    body = await server.graphql(
        RISK_KPIS, APRIL_VARIABLES, token=staff_token(server, world, "demo-marketer")
    )
    assert body["data"] == {"analytics": {"risk": None}}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert "risk:read" in body["errors"][0]["message"]


async def test_callers_without_analytics_read_are_forbidden_over_http(
    server: Server, world: World
) -> None:
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
        body = await server.graphql(RISK_KPIS, APRIL_VARIABLES, token=token)
        # `analytics` needs a staff token; its figures declare their scopes (agents reach
        # `analytics` for their service-stars row, and are refused at the figures).
        refused_at = {"analytics": {"risk": None}} if who == "agent" else {"analytics": None}
        assert body["data"] == refused_at, who
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], who
        if who == "agent":
            assert "risk:read" in body["errors"][0]["message"], who


async def test_a_token_without_risk_read_is_refused_whatever_its_role_over_http(
    server: Server, world: World
) -> None:
    """The scope decides, not the role: a risk officer's token narrowed to analytics."""
    token = staff_token(server, world, "demo-risk", scopes=frozenset({Scope.ANALYTICS_READ}))
    body = await server.graphql(RISK_KPIS, APRIL_VARIABLES, token=token)
    assert body["data"] == {"analytics": {"risk": None}}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
