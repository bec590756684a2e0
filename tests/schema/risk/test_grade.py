"""The risk grade over HTTP: a risk officer overrides and lifts it (reason sealed, audited,
versioned), every other role is refused, and who reads the reasons, the override flag and
the history, with the statements a page of customers costs."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlmodel import col

from models.columns import utcnow
from models.customers.customer import Customer
from models.growth.customer_metrics import CustomerMetrics
from schema.relay import to_global_id
from tests.conftest import Server, customer_token
from tests.schema.cards.support_limits import audit_actions, error_of, payload, staff
from tests.support import World, add_customer

GRADE_FIELDS = """
  id version riskGrade riskGradeOverridden riskGradeReasons
  riskGradeHistory(first: 5) {
    fromGrade toGrade source reasons note actorKind actor { role } at
  }
"""
ERRORS = "userErrors { field code message }"
OVERRIDE = f"""
mutation O($input: OverrideRiskGradeInput!) {{
  overrideRiskGrade(input: $input) {{ customer {{ {GRADE_FIELDS} }} {ERRORS} }}
}}
"""
LIFT = f"""
mutation L($input: LiftRiskGradeOverrideInput!) {{
  liftRiskGradeOverride(input: $input) {{ customer {{ {GRADE_FIELDS} }} {ERRORS} }}
}}
"""
READ = f"query R($id: ID!) {{ customer(id: $id) {{ {GRADE_FIELDS} }} }}"
REASON = "客户涉诉，风险委员会决定暂定为D级"
LIFTED = "诉讼已结案，恢复系统评级"


async def _customer(server: Server, world: World) -> tuple[uuid.UUID, str]:
    customer_id = await add_customer(server.state, world)
    return customer_id, to_global_id("Customer", customer_id)


async def _override(
    server: Server, token: str, gid: str, version: int = 1, grade: str = "D", reason: str = REASON
) -> dict[str, Any]:
    variables = {"input": {"customerId": gid, "version": version, "grade": grade, "reason": reason}}
    return payload(await server.graphql(OVERRIDE, variables, token=token))


async def _lift(
    server: Server, token: str, gid: str, version: int, reason: str = LIFTED
) -> dict[str, Any]:
    variables = {"input": {"customerId": gid, "version": version, "reason": reason}}
    return payload(await server.graphql(LIFT, variables, token=token))


COMPUTED: list[uuid.UUID] = []  # the customers given metrics here, removed after each test


async def _computed(server: Server, customer_id: uuid.UUID, grade: str, reasons: list[str]) -> None:
    """What an evaluation would have left in customer_metrics."""
    COMPUTED.append(customer_id)
    async with server.state.database.session() as session:
        session.add(
            CustomerMetrics(
                customer_id=customer_id,
                evaluated_at=utcnow(),
                window_days=90,
                risk_grade=grade,
                risk_reasons=reasons,
            )
        )
        await session.commit()


async def test_a_risk_officer_overrides_then_lifts_back_to_the_computed_grade(
    server: Server, world: World
) -> None:
    customer_id, gid = await _customer(server, world)
    await _computed(server, customer_id, "B", ["high_utilisation"])
    risk = staff(server, world, "risk_officer")

    done = await _override(server, risk, gid)

    assert done["userErrors"] == []
    held = done["customer"]
    assert (held["riskGrade"], held["riskGradeOverridden"], held["version"]) == ("D", True, 2)
    assert held["riskGradeReasons"] == ["HIGH_UTILISATION"]  # evaluation's, kept
    (entry,) = held["riskGradeHistory"]
    assert (entry["fromGrade"], entry["toGrade"], entry["source"], entry["reasons"]) == (
        "C",
        "D",
        "OVERRIDE",
        [],
    )
    assert (entry["note"], entry["actorKind"], entry["actor"]) == (
        REASON,
        "staff",
        {"role": "RISK_OFFICER"},
    )

    back = await _lift(server, risk, gid, version=2)

    assert back["userErrors"] == []
    lifted = back["customer"]
    assert (lifted["riskGrade"], lifted["riskGradeOverridden"], lifted["version"]) == (
        "B",
        False,
        3,
    )
    newest = lifted["riskGradeHistory"][0]
    assert (newest["fromGrade"], newest["toGrade"], newest["source"], newest["reasons"]) == (
        "D",
        "B",
        "OVERRIDE_LIFTED",
        ["HIGH_UTILISATION"],
    )
    assert newest["note"] == LIFTED
    assert [s["source"] for s in lifted["riskGradeHistory"]] == ["OVERRIDE_LIFTED", "OVERRIDE"]
    assert await audit_actions(server, str(customer_id)) == [
        ("customer.risk_grade_override", "staff"),
        ("customer.risk_grade_override_lift", "staff"),
    ]


async def test_lifting_without_evaluation_keeps_the_grade_and_needs_an_override(
    server: Server, world: World
) -> None:
    _, gid = await _customer(server, world)
    risk = staff(server, world, "risk_officer")

    assert error_of(await _lift(server, risk, gid, version=1)) == ("customerId", "CONFLICT")
    await _override(server, risk, gid, grade="A")
    lifted = (await _lift(server, risk, gid, version=2))["customer"]
    assert (lifted["riskGrade"], lifted["riskGradeOverridden"]) == ("A", False)


async def test_a_stale_version_a_missing_reason_or_customer_are_refused(
    server: Server, world: World
) -> None:
    customer_id, gid = await _customer(server, world)
    risk = staff(server, world, "risk_officer")

    assert error_of(await _override(server, risk, gid, version=7)) == ("version", "CONFLICT")
    assert error_of(await _override(server, risk, gid, reason="  ")) == (
        "reason",
        "BAD_USER_INPUT",
    )
    assert error_of(await _override(server, risk, gid, reason="x" * 4001)) == (
        "reason",
        "BAD_USER_INPUT",
    )
    nobody = to_global_id("Customer", uuid.uuid4())
    assert error_of(await _override(server, risk, nobody)) == ("customerId", "NOT_FOUND")
    body = await server.graphql(READ, {"id": gid}, token=risk)
    assert (body["data"]["customer"]["version"], body["data"]["customer"]["riskGradeHistory"]) == (
        1,
        [],
    )
    async with server.state.database.session() as session:  # nothing was written
        row = await session.get(Customer, customer_id)
        assert row is not None
        assert (row.risk_grade, row.risk_grade_overridden) == ("C", False)


@pytest.mark.parametrize(
    "role", ["supervisor", "agent", "marketer", "auditor", "customer", "merchant"]
)
async def test_only_risk_officers_override_or_lift(server: Server, world: World, role: str) -> None:
    customer_id, gid = await _customer(server, world)
    if role == "customer":
        token = customer_token(server, customer_id)  # not even their own
    elif role == "merchant":
        from tests.support_offers import add_merchant, merchant_token

        token = merchant_token(server.state, await add_merchant(server.state))
    else:
        token = staff(server, world, role)

    assert error_of(await _override(server, token, gid)) == (None, "FORBIDDEN")
    async with server.state.database.session() as session:  # held, so a lift would apply
        await session.execute(
            update(Customer)
            .where(col(Customer.id) == customer_id)
            .values(risk_grade_overridden=True)
        )
        await session.commit()
    assert error_of(await _lift(server, token, gid, version=1)) == (None, "FORBIDDEN")
    assert await audit_actions(server, str(customer_id)) == []


async def _history_entry(server: Server, world: World) -> tuple[uuid.UUID, str]:
    customer_id, gid = await _customer(server, world)
    await _computed(server, customer_id, "A", ["clean_record"])
    done = await _override(server, staff(server, world, "risk_officer"), gid)
    assert done["userErrors"] == []
    return customer_id, gid


FIELDS = ("riskGradeReasons", "riskGradeOverridden", "riskGradeHistory")


@pytest.mark.parametrize(
    ("role", "note"),
    [
        ("risk_officer", "clear"),
        ("admin", "masked"),
        ("supervisor", "masked"),
        ("auditor", "masked"),
    ],
)
async def test_risk_and_oversight_read_the_grade_fields(
    server: Server, world: World, role: str, note: str
) -> None:
    _, gid = await _history_entry(server, world)  # branch BJ-CY: the supervisor's

    body = await server.graphql(READ, {"id": gid}, token=staff(server, world, role))

    assert "errors" not in body, body
    found = body["data"]["customer"]
    assert (found["riskGradeReasons"], found["riskGradeOverridden"]) == (["CLEAN_RECORD"], True)
    (entry,) = found["riskGradeHistory"]
    assert entry["toGrade"] == "D"
    if note == "clear":
        assert entry["note"] == REASON
    else:
        assert entry["note"] not in (None, REASON)
        assert "*" in entry["note"]


@pytest.mark.parametrize("role", ["agent", "marketer", "customer", "merchant"])
async def test_agents_marketers_customers_and_merchants_do_not_see_them(
    server: Server, world: World, role: str
) -> None:
    customer_id, gid = await _history_entry(server, world)
    if role == "customer":
        token = customer_token(server, customer_id)
        query = "{ me { id riskGradeReasons riskGradeOverridden riskGradeHistory { toGrade } } }"
        body = await server.graphql(query, token=token)
        root = "me"
    else:
        if role == "merchant":
            from tests.support_offers import add_merchant, merchant_token

            token = merchant_token(server.state, await add_merchant(server.state))
        else:
            token = staff(server, world, role)
        body = await server.graphql(READ, {"id": gid}, token=token)
        root = "customer"

    found = body["data"][root] if body.get("data") else None
    if role == "merchant":  # no customer at all
        assert found is None
        assert {e["extensions"]["code"] for e in body["errors"]} <= {"FORBIDDEN", "NOT_FOUND"}
        return
    # the customer is visible to them: each grade field is refused at its path
    assert found is not None
    assert [found[name] for name in FIELDS] == [None, None, None]
    refused = {e["path"][-1] for e in body["errors"] if e["extensions"]["code"] == "FORBIDDEN"}
    assert set(FIELDS) <= refused


async def test_a_history_page_size_out_of_bounds_is_bad_input(server: Server, world: World) -> None:
    _, gid = await _customer(server, world)
    body = await server.graphql(
        "query H($id: ID!) { customer(id: $id) { id riskGradeHistory(first: 51) { toGrade } } }",
        {"id": gid},
        token=staff(server, world, "risk_officer"),
    )
    assert body["data"]["customer"]["riskGradeHistory"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


PAGE = """
query P($first: Int!) { customers(first: $first) { edges { node {
  id riskGrade riskGradeOverridden riskGradeReasons
  riskGradeHistory(first: 5) { toGrade source reasons note actor { role } }
} } } }
"""


async def test_a_page_of_customers_costs_the_same_statements_whatever_its_size(
    server: Server, world: World
) -> None:
    risk = staff(server, world, "risk_officer")
    _, gid = await _history_entry(server, world)  # the newest customer: on every page
    first = await server.graphql("{ customers(first: 1) { edges { node { id } } } }", token=risk)
    assert first["data"]["customers"]["edges"][0]["node"]["id"] == gid

    counts = []
    for size in (2, 10, 30):
        body, statements = await server.count_statements(PAGE, {"first": size}, token=risk)
        assert "errors" not in body, body
        edges = body["data"]["customers"]["edges"]
        assert len(edges) == size
        assert edges[0]["node"]["riskGradeHistory"][0]["actor"] == {"role": "RISK_OFFICER"}
        counts.append(statements)
    assert counts[0] == counts[1] == counts[2], counts


@pytest.fixture(autouse=True)
async def _no_leftover_metrics(server: Server) -> Any:
    """The metrics rows these tests add stand for an evaluation: gone afterwards, so other
    tests of the shared server see customers never evaluated, as before."""
    yield
    async with server.state.database.session() as session:
        await session.execute(
            delete(CustomerMetrics).where(col(CustomerMetrics.customer_id).in_(COMPUTED))
        )
        await session.commit()
    COMPUTED.clear()
