"""Every benchmark workload, for every role, answered by the compiled executor and by the
standard one: the responses must be identical.

Two apps serve the shared test database: the shared ``server`` (compiled executor on, as
shipped) and one with ``compiled_operations`` off. The executor counter tells which
executor answered each request, and the property checked is the one the design promises:
every workload stays on a fast path for every role, refusals included (W1 and W2 by their
SQL plans, W4 by its compiled plan or its refusals' SQL plan, W3 by its compiled plan), with
exactly the standard executor's data and errors. Request ids differ
between the two apps and are left out of the comparison.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api import metrics
from bench.workloads import document, w1_variables, w2_variables, w3_variables, w4_variables
from schema.relay import to_global_id
from tests.conftest import Server
from tests.support import DEMO_STAFF as STAFF
from tests.support import World

ROLES = [*STAFF, "customer", "merchant", "service"]
QUERIES = ["W1", "W2", "W3", "W4"]
# Workloads the SQL planner answers for every role, refusals included (api.compiled.sql).
PLANNED = frozenset({"W1", "W2"})  # answered by the SQL plan for every role


def planned_or(reference: Any) -> set[str]:
    """Who may answer a query outside the workloads: its SQL plan, if the planner knows all
    it selects (or the caller is refused the whole root), else the resolver-driven plan, or
    the standard executor once the plan met an error."""
    return {"planned", "fallback" if "errors" in reference else "compiled"}


def _expected_executor(workload: str, reference: Any) -> str:
    """W1 and W2 by their SQL plans; W4 by its resolvers' compiled plan, or by the SQL plan
    of its refusals for a caller refused the analytics; W3 (a mutation) by its compiled plan
    for every role."""
    if workload in PLANNED:
        return "planned"
    if workload == "W3":
        return "compiled"
    return "planned" if "errors" in reference else "compiled"


def _variables(workload: str, world: World) -> dict[str, Any]:
    return {
        "W1": w1_variables(),
        "W2": w2_variables(to_global_id("Customer", world.alice.id)),
        "W3": w3_variables("NO-SUCH-CODE-0000", reference="both-executors"),
        "W4": w4_variables(),
    }[workload]


def _without_request_ids(body: Any) -> Any:
    for error in body.get("errors", []):
        error.get("extensions", {}).pop("requestId", None)
    return body


def _answered_by() -> dict[str, float]:
    return {
        executor: metrics.COMPILED.labels(executor=executor)._value.get()
        for executor in ("planned", "compiled", "fallback", "standard")
    }


async def _answered(
    server: Server, query: str, variables: dict[str, Any], token: str
) -> tuple[httpx.Response, str]:
    """The answer, and which executor gave it (the executor counter that moved)."""
    before = _answered_by()
    response = await server.post(query, variables, token=token)
    after = _answered_by()
    (executor,) = [name for name in after if after[name] != before[name]]
    return response, executor


async def _both(
    server: Server, standard: Server, query: str, variables: dict[str, Any], token: str
) -> tuple[Any, Any, str]:
    compiled, executor = await _answered(server, query, variables, token)
    reference = await standard.post(query, variables, token=token)
    assert compiled.status_code == reference.status_code
    return _without_request_ids(compiled.json()), _without_request_ids(reference.json()), executor


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("workload", QUERIES)
async def test_a_workload_gets_the_same_answer_from_both_executors(
    server: Server,
    standard: Server,
    world: World,
    tokens: dict[str, str],
    w2_data: None,
    workload: str,
    role: str,
) -> None:
    variables = _variables(workload, world)

    compiled, reference, executor = await _both(
        server, standard, document(workload), variables, tokens[role]
    )

    assert compiled == reference
    assert executor == _expected_executor(workload, reference), reference


@pytest.mark.parametrize("role", ["agent", "customer"])
async def test_w1_pages_of_every_size_agree(
    server: Server, standard: Server, world: World, tokens: dict[str, str], role: str
) -> None:
    for first in (0, 1, 7, 50, 100, 101):
        compiled, reference, executor = await _both(
            server, standard, document("W1"), w1_variables(first), tokens[role]
        )
        assert compiled == reference, first
        expected = "planned" if "errors" not in reference else "fallback"  # 101: too many
        assert executor == expected, first


async def test_the_compiled_answers_hold_data_not_just_errors(
    server: Server, standard: Server, world: World, tokens: dict[str, str], w2_data: None
) -> None:
    """Guards the equality above against both executors failing alike: W2's plan shows
    recommendations (the targeted one with its assignment) and open complaints."""
    compiled, reference, executor = await _both(
        server, standard, document("W2"), _variables("W2", world), tokens["agent"]
    )
    assert compiled == reference
    assert executor == "planned"
    customer = compiled["data"]["customer"]
    assert customer["name"] != ""
    assert "*" in customer["phone"]
    assert customer["cards"][0]["pan"].startswith("*")
    assert customer["interactions"]["edges"] is not None
    titles = [each["offer"]["title"] for each in customer["recommendedOffers"]]
    assert {"推荐优惠 0", "推荐优惠 1", "推荐优惠 2"} <= set(titles) or len(titles) == 5
    complaints = compiled["data"]["complaints"]["edges"]
    assert complaints
    assert all(edge["node"]["status"] == "OPEN" for edge in complaints)
    assert complaints[0]["node"]["timeline"][0]["action"] == "FILE"


async def test_fragments_aliases_and_typename_compile_to_the_same_answer(
    server: Server, standard: Server, world: World, tokens: dict[str, str]
) -> None:
    query = """
    query Aliased($first: Int) {
      page: customers(first: $first) {
        __typename
        edges { node { ...Who me: id ... on Customer { tier { code __typename } } } }
        totalCount
        pageInfo { hasNextPage endCursor }
      }
    }
    fragment Who on Customer { id name phone cards { pan last4 creditLimit status } }
    """
    compiled, reference, executor = await _both(
        server, standard, query, {"first": 5}, tokens["supervisor"]
    )
    assert compiled == reference
    assert executor == "compiled"
    assert list(compiled["data"]["page"]) == ["__typename", "edges", "totalCount", "pageInfo"]


async def test_a_denied_field_is_refused_by_the_plan_as_the_standard_executor_refuses_it(
    server: Server, standard: Server, world: World, tokens: dict[str, str]
) -> None:
    query = "{ customers(first: 3) { edges { node { id creditScore riskGrade } } } }"
    compiled, reference, executor = await _both(server, standard, query, {}, tokens["agent"])
    assert compiled == reference
    assert executor == "planned"
    assert {error["extensions"]["code"] for error in compiled["errors"]} == {"FORBIDDEN"}


async def test_directives_run_on_the_standard_executor(
    server: Server, standard: Server, world: World, tokens: dict[str, str]
) -> None:
    skipped = (
        "query($s: Boolean!) { customers(first: 2) { edges { node { id name @skip(if: $s) } } } }"
    )
    compiled, reference, executor = await _both(
        server, standard, skipped, {"s": True}, tokens["agent"]
    )
    assert compiled == reference
    assert executor == "standard"


async def test_a_scope_declared_field_compiles_for_a_holder_and_its_refusal_is_planned(
    server: Server, standard: Server, world: World, tokens: dict[str, str]
) -> None:
    query = (
        "{ customers(first: 3) { edges { node { id interactions(first: 2) { totalCount } } } } }"
    )

    held, reference, executor = await _both(server, standard, query, {}, tokens["agent"])
    assert held == reference
    assert executor == "compiled"

    # The risk officer lists customers but holds no interactions:read (a marketer lists none).
    lacked, reference, executor = await _both(server, standard, query, {}, tokens["risk_officer"])
    assert lacked == reference
    assert executor == "planned"  # the refusal is planned: totalCount is never reached
    edges = lacked["data"]["customers"]["edges"]
    assert edges
    assert all(edge["node"]["id"] and edge["node"]["interactions"] is None for edge in edges)
    assert {(e["extensions"]["code"], e["path"][-1]) for e in lacked["errors"]} == {
        ("FORBIDDEN", "interactions")
    }


async def test_the_fields_other_domains_add_to_customer_compile_to_the_same_answer(
    server: Server, standard: Server, world: World, tokens: dict[str, str]
) -> None:
    """Customer is assembled from several domains' parts (``schema.graph``); the plan walks
    every part's fields, each resolver called with the customers' own part as ``self``."""
    query = """
    query($id: ID!) { customer(id: $id) {
      __typename id name tier { code } tierProgress { percent nextTier { code } }
      churnRisk { score reasons } rfm { frequency } tierHistory(first: 2) { change }
      lifecycleHistory(first: 2) { toStage } cards { last4 status }
      interactions(first: 2) { totalCount } complaints(first: 2) { totalCount }
      offers(first: 2) { totalCount } recommendedOffers(first: 2) { affinity }
      revealableFields
    } }
    """
    variables = {"id": to_global_id("Customer", world.alice.id)}

    compiled, reference, executor = await _both(server, standard, query, variables, tokens["admin"])

    assert compiled == reference
    assert "errors" not in reference, reference
    assert executor == "compiled"
    assert reference["data"]["customer"]["cards"]
