"""Evaluation through the real HTTP stack: who may evaluate and override tiers, what each
role sees of a customer's tier progress, churn risk, RFM and histories, and what a page of
them costs in SQL statements.

Tests on the shared server touch only customers they create; the ones that evaluate run an
app of their own on a database of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.demo.seed import seed_demo
from auth.scopes import ROLE_SCOPES
from core.identity import Role, Scope
from models.audit.audit import AuditEntry
from models.cards.card import Card
from models.columns import utcnow
from models.growth.customer_metrics import CustomerMetrics
from models.organisation.organisation import StaffUser
from resolvers.growth.evaluation import evaluate_customers
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.models import conftest as databases
from tests.models.conftest import FreshDatabase
from tests.security.conftest import running_app, variant
from tests.support import World, add_customer

EVALUATE = """
mutation Evaluate($input: EvaluateCustomersInput) {
  evaluateCustomers(input: $input) {
    summary { evaluated upgrades downgrades stageChanges { stage count } }
    userErrors { field code message }
  }
}
"""
OVERRIDE = """
mutation Override($input: OverrideCustomerTierInput!) {
  overrideCustomerTier(input: $input) {
    customer { id version tier { code } }
    userErrors { field code message }
  }
}
"""
TIER_HISTORY = """
query History($id: ID!) {
  customer(id: $id) {
    tierHistory { change reason fromTier { code } toTier { code } actor { displayName } }
  }
}
"""
GROWTH_FIELDS = """
query Growth($id: ID!) {
  customer(id: $id) {
    id
    tierProgress {
      currentTier { code } nextTier { code } annualSpend annualTransactions
      spendNeeded transactionsNeeded percent evaluatedAt
    }
    rfm { recencyDays frequency monetary windowDays }
    churnRisk { score reasons }
    tierHistory { change }
    lifecycleHistory { toStage }
  }
}
"""
PAGE = """
query Page($first: Int!) {
  customers(first: $first) {
    edges { node {
      id
      tierProgress { currentTier { code } nextTier { code } percent }
      churnRisk { score reasons evaluatedAt }
      rfm { recencyDays frequency monetary }
      tierHistory { change reason fromTier { code } toTier { code } actor { displayName } }
      lifecycleHistory { fromStage toStage reason }
    } }
  }
}
"""
# A database of a test's own (tests/models/conftest.py), for the tests that evaluate.
make_database = databases.make_database
fresh_database = databases.fresh_database
REASON = "Ticket 4711: retention offer approved by the branch manager"


def _payload(body: dict[str, Any], field: str) -> dict[str, Any]:
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][field]
    return payload


def _codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def _override(
    server: Server, token: str, customer_id: uuid.UUID, **changes: Any
) -> dict[str, Any]:
    variables = {
        "customerId": to_global_id("Customer", customer_id),
        "tier": "PLATINUM",
        "reason": REASON,
        "version": 1,
        **changes,
    }
    body = await server.graphql(OVERRIDE, {"input": variables}, token=token)
    return _payload(body, "overrideCustomerTier")


async def _audit_entries(server: Server, action: str, target_id: str) -> list[AuditEntry]:
    async with server.state.database.session() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.target_id == target_id)
        )
        return list(rows.all())


# -- evaluateCustomers: admins only (refusals run nothing, so the shared server is fine) --


@pytest.mark.parametrize(
    "username",
    ["demo-supervisor", "demo-agent", "demo-marketer", "demo-risk", "demo-auditor"],
)
async def test_only_an_admin_may_evaluate_customers(
    server: Server, world: World, username: str
) -> None:
    body = await server.graphql(EVALUATE, token=staff_token(server, world, username))

    payload = _payload(body, "evaluateCustomers")
    assert payload["summary"] is None
    assert _codes(payload) == ["FORBIDDEN"]


async def test_an_admin_token_without_the_admin_scope_may_not_evaluate(
    server: Server, world: World
) -> None:
    scopes = ROLE_SCOPES[Role.ADMIN] - {Scope.ADMIN}
    token = staff_token(server, world, "demo-admin", scopes=scopes)

    payload = _payload(await server.graphql(EVALUATE, token=token), "evaluateCustomers")

    assert _codes(payload) == ["FORBIDDEN"]


async def test_a_customer_may_not_evaluate(server: Server, world: World) -> None:
    token = customer_token(server, world.alice.id)

    payload = _payload(await server.graphql(EVALUATE, token=token), "evaluateCustomers")

    assert _codes(payload) == ["FORBIDDEN"]


# -- overrideCustomerTier ------------------------------------------------------------------


async def test_a_supervisor_overrides_a_tier_with_a_reason_in_history_and_audit(
    server: Server, world: World
) -> None:
    customer_id = await add_customer(server.state, world, branch="BJ-CY")
    supervisor = staff_token(server, world, "demo-supervisor")

    payload = await _override(server, supervisor, customer_id)

    assert payload["userErrors"] == []
    assert payload["customer"]["tier"] == {"code": "PLATINUM"}
    assert payload["customer"]["version"] == 2
    history = await server.graphql(
        TIER_HISTORY, {"id": to_global_id("Customer", customer_id)}, token=supervisor
    )
    assert history["data"]["customer"]["tierHistory"] == [
        {
            "change": "OVERRIDE",
            "reason": REASON,
            "fromTier": {"code": "STANDARD"},
            "toTier": {"code": "PLATINUM"},
            "actor": {"displayName": world.staff["demo-supervisor"].display_name},
        }
    ]
    [entry] = await _audit_entries(server, "customer.tier_override", str(customer_id))
    assert entry.actor_id == str(world.staff["demo-supervisor"].id)
    assert entry.purpose == REASON
    assert entry.fields == ["tier"]
    assert entry.details["to"] == "platinum"


async def test_the_override_holds_for_the_configured_days(server: Server, world: World) -> None:
    customer_id = await add_customer(server.state, world, branch="BJ-CY")

    await _override(server, staff_token(server, world, "demo-admin"), customer_id)

    async with server.state.database.session() as session:
        from models.customers.customer import Customer

        row = await session.get(Customer, customer_id)
    assert row is not None
    assert row.tier_override_until is not None
    days = server.state.settings.tier_override_days
    expected = utcnow() + timedelta(days=days)
    assert abs(row.tier_override_until - expected) < timedelta(minutes=1)


async def test_an_agent_may_not_override_a_tier(server: Server, world: World) -> None:
    customer_id = await add_customer(server.state, world, branch="BJ-CY")

    payload = await _override(server, staff_token(server, world, "demo-agent"), customer_id)

    assert payload["customer"] is None
    assert _codes(payload) == ["FORBIDDEN"]
    assert await _audit_entries(server, "customer.tier_override", str(customer_id)) == []


async def test_a_stale_version_is_a_conflict_and_changes_nothing(
    server: Server, world: World
) -> None:
    customer_id = await add_customer(server.state, world, branch="BJ-CY")
    supervisor = staff_token(server, world, "demo-supervisor")
    await _override(server, supervisor, customer_id)

    payload = await _override(server, supervisor, customer_id, tier="SILVER", version=1)

    assert _codes(payload) == ["CONFLICT"]
    assert payload["userErrors"][0]["field"] == "version"
    history = await server.graphql(
        TIER_HISTORY, {"id": to_global_id("Customer", customer_id)}, token=supervisor
    )
    assert len(history["data"]["customer"]["tierHistory"]) == 1


@pytest.mark.parametrize(
    "reason", ["test", "too short", "aaaaaaaaaaaaaaaa", "call 13812345678 back about it"]
)
async def test_a_reason_that_says_nothing_or_holds_pii_is_bad_input(
    server: Server, world: World, reason: str
) -> None:
    customer_id = await add_customer(server.state, world, branch="BJ-CY")
    supervisor = staff_token(server, world, "demo-supervisor")

    payload = await _override(server, supervisor, customer_id, reason=reason)

    assert _codes(payload) == ["BAD_USER_INPUT"]
    assert payload["userErrors"][0]["field"] == "reason"


async def test_a_customer_of_another_branch_is_not_found_for_a_supervisor(
    server: Server, world: World
) -> None:
    customer_id = await add_customer(server.state, world, branch="SH-PD")

    payload = await _override(server, staff_token(server, world, "demo-supervisor"), customer_id)

    assert _codes(payload) == ["NOT_FOUND"]


async def test_an_admin_overrides_in_any_branch(server: Server, world: World) -> None:
    customer_id = await add_customer(server.state, world, branch="SH-PD")

    payload = await _override(
        server, staff_token(server, world, "demo-admin"), customer_id, tier="GOLD"
    )

    assert payload["userErrors"] == []
    assert payload["customer"]["tier"] == {"code": "GOLD"}


# -- the customer fields per role ----------------------------------------------------------

STAFF = (
    "demo-admin",
    "demo-supervisor",
    "demo-agent",
    "demo-marketer",
    "demo-risk",
    "demo-auditor",
)


async def _evaluated_customer(server: Server, world: World) -> uuid.UUID:
    """A customer of branch BJ-CY with last evaluation's figures: ¥30,000 over 10 purchases
    in the year, ¥6,000 over 4 in the window, and a falling spend."""
    customer_id = await add_customer(server.state, world, branch="BJ-CY")
    async with server.state.database.session() as session:
        session.add(
            CustomerMetrics(
                customer_id=customer_id,
                evaluated_at=utcnow(),
                window_days=90,
                recency_days=12,
                frequency=4,
                monetary_cents=600_000,
                annual_spend_cents=3_000_000,
                annual_transactions=10,
                churn_score=0.7,
                churn_reasons=["spend fell 70% over 90 days (¥20,000 → ¥6,000)"],
                category_spend={"dining": 600_000},
            )
        )
        await session.commit()
    return customer_id


def _token(server: Server, world: World, who: str, customer_id: uuid.UUID) -> str:
    if who == "customer":
        return customer_token(server, customer_id)
    return staff_token(server, world, who)


@pytest.mark.parametrize("who", [*STAFF, "customer"])
async def test_each_role_sees_tier_progress_and_rfm_but_only_staff_see_churn_and_history(
    server: Server, world: World, who: str
) -> None:
    customer_id = await _evaluated_customer(server, world)
    token = _token(server, world, who, customer_id)

    body = await server.graphql(
        GROWTH_FIELDS, {"id": to_global_id("Customer", customer_id)}, token=token
    )

    customer = body["data"]["customer"]
    progress = customer["tierProgress"]
    assert progress["currentTier"] == {"code": "STANDARD"}
    assert progress["nextTier"] == {"code": "SILVER"}  # ¥50,000 and 24 purchases
    assert progress["annualSpend"] == "30000.00"
    assert progress["annualTransactions"] == 10
    assert progress["spendNeeded"] == "20000.00"
    assert progress["transactionsNeeded"] == 14
    assert progress["percent"] == 41.6  # 10 of 24 purchases (spend is at 60%)
    assert progress["evaluatedAt"] is not None
    assert customer["rfm"] == {
        "recencyDays": 12,
        "frequency": 4,
        "monetary": "6000.00",
        "windowDays": 90,
    }
    denied = {
        tuple(error["path"])
        for error in body.get("errors", [])
        if error["extensions"]["code"] == "FORBIDDEN"
    }
    if who == "customer":
        assert denied == {
            ("customer", "churnRisk"),
            ("customer", "tierHistory"),
            ("customer", "lifecycleHistory"),
        }
        assert customer["churnRisk"] is None
        assert customer["tierHistory"] is None
        assert customer["lifecycleHistory"] is None
        return
    assert "errors" not in body, body
    assert customer["churnRisk"] == {
        "score": 0.7,
        "reasons": ["spend fell 70% over 90 days (¥20,000 → ¥6,000)"],
    }
    assert customer["tierHistory"] == []
    assert customer["lifecycleHistory"] == []


async def test_a_customer_never_evaluated_has_no_figures_yet(server: Server, world: World) -> None:
    customer_id = await add_customer(server.state, world, branch="BJ-CY")
    token = staff_token(server, world, "demo-supervisor")

    body = await server.graphql(
        GROWTH_FIELDS, {"id": to_global_id("Customer", customer_id)}, token=token
    )

    assert "errors" not in body, body
    customer = body["data"]["customer"]
    assert customer["rfm"] is None
    assert customer["churnRisk"] == {"score": None, "reasons": []}
    progress = customer["tierProgress"]
    assert (progress["annualSpend"], progress["percent"], progress["evaluatedAt"]) == (
        "0.00",
        0.0,
        None,
    )


async def test_an_admin_token_without_customers_read_sees_no_churn_risk(
    server: Server, world: World
) -> None:
    """A token without customers:read is refused at `customer`, not let in by the new fields."""
    customer_id = await _evaluated_customer(server, world)
    token = staff_token(
        server, world, "demo-admin", scopes=ROLE_SCOPES[Role.ADMIN] - {Scope.CUSTOMERS_READ}
    )

    body = await server.graphql(
        GROWTH_FIELDS, {"id": to_global_id("Customer", customer_id)}, token=token
    )

    assert body["data"]["customer"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]


# -- on an app of its own: evaluating, and the cost of a page ------------------------------


@dataclass
class OwnApp:
    server: Server
    admin: StaffUser


@pytest.fixture
async def own_app(fresh_database: FreshDatabase) -> AsyncIterator[OwnApp]:
    """An app on a fresh database with 30 demo customers, each of whose cards has spent."""
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            await seed_demo(session, ring, customers=30, seed=3)
            admin = (
                await session.scalars(select(StaffUser).where(StaffUser.username == "demo-admin"))
            ).one()
            cards = (await session.scalars(select(Card))).all()
            await _spend_on(session, list(cards))
    async with running_app(variant(fresh_database.settings)) as server:
        yield OwnApp(server, admin)


async def _spend_on(session: Any, cards: list[Card]) -> None:
    """A few purchases on every card, the newest a different number of days ago each."""
    from sqlalchemy import insert

    from models.transactions.transaction import Transaction

    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "card_id": card.id,
            "amount_cents": 50_000 * (1 + n),
            "merchant_name": "test merchant",
            "merchant_category": ("dining", "travel", "shopping")[n % 3],
            "channel": "pos",
            "occurred_at": now - timedelta(days=3 * index + 20 * n),
            "natural_key": f"test-{uuid.uuid4().hex}",
            "created_at": now,
        }
        for index, card in enumerate(cards)
        for n in range(1 + index % 4)
    ]
    await session.execute(insert(Transaction.__table__), rows)  # type: ignore[attr-defined]
    await session.commit()


def _admin_token(app: OwnApp) -> str:
    return app.server.state.tokens.issue(
        subject=str(app.admin.id),
        role=Role.ADMIN,
        client_id="cardcrm-console",
        username=app.admin.username,
    )


async def test_an_admin_evaluates_every_customer_and_it_is_audited_once(own_app: OwnApp) -> None:
    server = own_app.server

    body = await server.graphql(EVALUATE, {"input": {}}, token=_admin_token(own_app))

    payload = _payload(body, "evaluateCustomers")
    assert payload["userErrors"] == []
    summary = payload["summary"]
    assert summary["evaluated"] == 30
    assert sum(change["count"] for change in summary["stageChanges"]) > 0
    async with server.state.database.session() as session:
        entries = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "customers.evaluate")
            )
        ).all()
    [entry] = entries
    assert entry.actor_id == str(own_app.admin.id)
    assert entry.details["evaluated"] == 30
    assert entry.details["upgrades"] == summary["upgrades"]


async def test_a_naive_or_future_as_of_is_bad_input(own_app: OwnApp) -> None:
    token = _admin_token(own_app)
    later = (utcnow() + timedelta(days=2)).isoformat()

    for as_of in (later, "2026-01-01T00:00:00"):
        body = await own_app.server.graphql(EVALUATE, {"input": {"asOf": as_of}}, token=token)
        payload = _payload(body, "evaluateCustomers")
        assert _codes(payload) == ["BAD_USER_INPUT"], as_of


async def test_a_page_of_evaluated_customers_costs_the_same_statements_whatever_its_size(
    own_app: OwnApp,
) -> None:
    server = own_app.server
    await evaluate_customers(
        database=server.state.database, settings=server.state.settings, audit_event=None
    )
    token = _admin_token(own_app)
    first = await server.graphql(
        "{ customers(first: 1) { edges { node { id version } } } }", token=token
    )
    newest = first["data"]["customers"]["edges"][0]["node"]  # on every page: an override
    await server.graphql(
        OVERRIDE,
        {
            "input": {
                "customerId": newest["id"],
                "tier": "DIAMOND",
                "reason": REASON,
                "version": newest["version"],
            }
        },
        token=token,
    )

    counts = []
    for size in (2, 10, 30):
        body, statements = await server.count_statements(PAGE, {"first": size}, token=token)
        assert "errors" not in body, body
        edges = body["data"]["customers"]["edges"]
        assert len(edges) == size
        assert all(edge["node"]["rfm"] is not None for edge in edges)
        assert edges[0]["node"]["tierHistory"][0]["actor"] is not None
        counts.append(statements)
    assert counts[0] == counts[1] == counts[2], counts


async def test_a_history_page_size_out_of_bounds_is_bad_input(server: Server, world: World) -> None:
    body = await server.graphql(
        "query H($id: ID!) { customer(id: $id) { id tierHistory(first: 0) { change } } }",
        {"id": to_global_id("Customer", world.alice.id)},
        token=staff_token(server, world, "demo-supervisor"),
    )

    assert body["data"]["customer"]["tierHistory"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
