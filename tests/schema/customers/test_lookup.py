"""Exact-match lookups are disclosures (issue 11 item 1): who may make them, one per request,
every one audited (never the value) and counted against a per-actor hourly budget; and
``createCustomer``'s "already exists" counts as a lookup too.

Every caller whose lookups are counted is a fresh staff user made here, so its budget and its
audit entries are this test's alone.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlmodel import col, select

from auth.scopes import ROLE_SCOPES
from core.identity import Role, Scope
from core.settings import Settings
from models.audit.audit import AuditEntry
from models.organisation.organisation import StaffUser
from tests.conftest import Server
from tests.support import ALICE, BOB, World, add_staff

BY_PHONE = """
query ByPhone($phone: String!) {
  customerByPhone(phone: $phone, reason: INBOUND_CALL) { id phone }
}
"""
BY_ID_NUMBER = """
query ByIdNumber($idNumber: String!) {
  customerByIdNumber(idNumber: $idNumber, reason: BRANCH_VISIT) { id idNumber }
}
"""
FIFTEEN_ALIASES = (
    "query {"
    + " ".join(
        f'p{n}: customerByPhone(phone: "1381234{n:04d}", reason: INBOUND_CALL) {{ id }}'
        for n in range(15)
    )
    + "}"
)
TWO_LOOKUP_FIELDS = """
query {
  customerByPhone(phone: "13812345678", reason: INBOUND_CALL) { id }
  customerByIdNumber(idNumber: "110101199003071233", reason: INBOUND_CALL) { id }
}
"""
ALIASES_IN_A_FRAGMENT = """
query { ...Guesses }
fragment Guesses on Query {
  a: customerByPhone(phone: "13812345678", reason: INBOUND_CALL) { id }
  b: customerByPhone(phone: "13812345679", reason: INBOUND_CALL) { id }
}
"""
TWO_CREATES = """
mutation($a: CreateCustomerInput!, $b: CreateCustomerInput!) {
  a: createCustomer(input: $a) { userErrors { code } }
  b: createCustomer(input: $b) { userErrors { code } }
}
"""
CREATE = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } userErrors { field code message } }
}
"""
STAFF_BRANCH = {
    "admin": None,
    "supervisor": "BJ-CY",
    "agent": "BJ-CY",
    "marketer": None,
    "risk_officer": None,
    "auditor": None,
}
MAY_LOOK_UP = {
    "phone": {"admin", "supervisor", "agent"},
    "idNumber": {"admin", "supervisor"},
}


def _global_id(kind: str, raw: object) -> str:
    return base64.b64encode(f"{kind}:{raw}".encode()).decode()


async def _fresh(
    server: Server, world: World, role: str, scopes: frozenset[Scope] | None = None
) -> tuple[StaffUser, str]:
    user = await add_staff(server.state, world, role=role, branch=STAFF_BRANCH[role])
    token = server.state.tokens.issue(
        subject=str(user.id),
        role=Role(role),
        client_id="cardcrm-console",
        scopes=scopes,
        branch_id=user.branch_id,
        username=user.username,
    )
    return user, token


async def _entries(server: Server, actor: StaffUser) -> list[AuditEntry]:
    async with server.state.database.session() as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(col(AuditEntry.actor_id) == str(actor.id))
            .order_by(col(AuditEntry.seq))
        )
        return list(rows.all())


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def _facts(entry: AuditEntry) -> tuple[str, list[str], str, str]:
    return (entry.action, entry.fields, entry.details["reason"], entry.details["outcome"])


# -- one lookup, audited ------------------------------------------------------------------


async def test_given_a_supervisor_when_a_phone_is_found_then_the_hit_is_audited_without_it(
    server: Server, world: World
) -> None:
    supervisor, token = await _fresh(server, world, "supervisor")

    body = await server.graphql(BY_PHONE, {"phone": ALICE.phone}, token=token)

    assert body["data"]["customerByPhone"] == {
        "id": _global_id("Customer", world.alice.id),
        "phone": "138****5678",
    }
    (entry,) = await _entries(server, supervisor)
    assert _facts(entry) == ("customer.lookup", ["phone"], "inbound_call", "hit")
    assert entry.target_id == str(world.alice.id)
    written = json.dumps(
        [entry.purpose, entry.details, entry.fields, entry.target_id], ensure_ascii=False
    )
    assert ALICE.phone not in written
    assert entry.details["masked"] == "138****5678"  # no more than the supervisor is shown


async def test_given_a_phone_nobody_has_then_the_miss_is_not_found_and_audited(
    server: Server, world: World
) -> None:
    supervisor, token = await _fresh(server, world, "supervisor")

    body = await server.graphql(BY_PHONE, {"phone": "13800000000"}, token=token)

    assert body["data"]["customerByPhone"] is None
    assert _codes(body) == ["NOT_FOUND"]
    (entry,) = await _entries(server, supervisor)
    assert _facts(entry) == ("customer.lookup", ["phone"], "inbound_call", "miss")
    assert entry.target_id is None


async def test_given_an_agent_when_the_phone_is_another_branchs_customer_then_it_is_a_miss(
    server: Server, world: World
) -> None:
    agent, token = await _fresh(server, world, "agent")  # branch BJ-CY; Bob is in SH-PD

    body = await server.graphql(BY_PHONE, {"phone": BOB.phone}, token=token)

    assert _codes(body) == ["NOT_FOUND"]
    (entry,) = await _entries(server, agent)
    assert _facts(entry) == ("customer.lookup", ["phone"], "inbound_call", "miss")


@pytest.mark.parametrize("role", list(STAFF_BRANCH))
@pytest.mark.parametrize(
    ("field", "query", "value"),
    [
        ("phone", BY_PHONE, {"phone": ALICE.phone}),
        ("idNumber", BY_ID_NUMBER, {"idNumber": ALICE.id_number}),
    ],
)
async def test_given_a_role_then_it_looks_up_only_what_it_may_be_shown(
    server: Server, world: World, role: str, field: str, query: str, value: dict[str, str]
) -> None:
    caller, token = await _fresh(server, world, role)

    body = await server.graphql(query, value, token=token)

    (entry,) = await _entries(server, caller)
    if role in MAY_LOOK_UP[field]:
        assert "errors" not in body, body
        assert entry.action == "customer.lookup"
        assert entry.details["outcome"] == "hit"
    else:
        assert _codes(body) == ["FORBIDDEN"]
        assert entry.action == "customer.lookup.refused"
        assert entry.details["outcome"] == "forbidden"
        assert entry.fields == [field]


async def test_given_a_token_without_customers_lookup_then_the_lookup_is_forbidden(
    server: Server, world: World
) -> None:
    scopes = ROLE_SCOPES[Role.SUPERVISOR] - {Scope.CUSTOMERS_LOOKUP}
    supervisor, token = await _fresh(server, world, "supervisor", scopes=scopes)

    body = await server.graphql(BY_PHONE, {"phone": ALICE.phone}, token=token)

    assert _codes(body) == ["FORBIDDEN"]
    assert [e.details["outcome"] for e in await _entries(server, supervisor)] == ["forbidden"]


# -- one lookup field per request ---------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        pytest.param(FIFTEEN_ALIASES, None, id="fifteen-aliases"),
        pytest.param(TWO_LOOKUP_FIELDS, None, id="two-lookup-fields"),
        pytest.param(ALIASES_IN_A_FRAGMENT, None, id="aliases-in-a-fragment"),
    ],
)
async def test_given_several_lookups_in_one_request_then_it_is_refused_before_any_runs(
    server: Server, world: World, document: str, variables: dict[str, Any] | None
) -> None:
    supervisor, token = await _fresh(server, world, "supervisor")

    body = await server.graphql(document, variables, token=token)

    assert body.get("data") is None
    assert _codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "the limit is 1" in body["errors"][0]["message"]
    # nothing was looked up, and the attempt is in the log all the same
    (entry,) = await _entries(server, supervisor)
    assert entry.action == "customer.lookup.refused"
    assert entry.details == {"outcome": "several_lookups"}
    assert entry.target_id is None
    assert set(entry.fields) <= {"customerByPhone", "customerByIdNumber"}


async def test_given_two_creates_in_one_request_then_it_is_refused_before_either_runs(
    server: Server, world: World
) -> None:
    agent, token = await _fresh(server, world, "agent")
    duplicate = _new_customer(idNumber=ALICE.id_number, birthDate="1990-03-07")

    body = await server.graphql(TWO_CREATES, {"a": duplicate, "b": duplicate}, token=token)

    assert _codes(body) == ["QUERY_TOO_COMPLEX"]
    assert [(e.action, e.fields) for e in await _entries(server, agent)] == [
        ("customer.lookup.refused", ["createCustomer"])
    ]


# -- the budget ----------------------------------------------------------------------------


async def test_given_the_hourly_budget_is_spent_then_the_next_lookup_is_rate_limited(
    server: Server, world: World
) -> None:
    supervisor, token = await _fresh(server, world, "supervisor")
    _other, other_token = await _fresh(server, world, "supervisor")
    budget = server.state.settings.lookup_limit_per_hour
    for n in range(budget):
        body = await server.graphql(BY_PHONE, {"phone": f"1380000{n:04d}"}, token=token)
        assert _codes(body) == ["NOT_FOUND"]

    refused = await server.graphql(BY_PHONE, {"phone": ALICE.phone}, token=token)
    still_open = await server.graphql(BY_PHONE, {"phone": ALICE.phone}, token=other_token)

    assert refused["data"]["customerByPhone"] is None
    assert _codes(refused) == ["RATE_LIMITED"]
    entries = await _entries(server, supervisor)
    assert [e.details["outcome"] for e in entries] == ["miss"] * budget + ["rate_limited"]
    assert entries[-1].action == "customer.lookup.refused"
    assert "errors" not in still_open  # the budget is per actor


async def test_given_misses_on_one_masked_value_then_the_next_guess_is_refused_even_if_right(
    server: Server, world: World
) -> None:
    # given: a supervisor who has missed twice on numbers shown as 138****5678
    supervisor, token = await _fresh(server, world, "supervisor")
    for guess in ("13800005678", "13800015678"):
        missed = await server.graphql(BY_PHONE, {"phone": guess}, token=token)
        assert _codes(missed) == ["NOT_FOUND"]

    # when it tries Alice's number, shown the same way, and then an unrelated one
    third = await server.graphql(BY_PHONE, {"phone": ALICE.phone}, token=token)
    other = await server.graphql(BY_PHONE, {"phone": "13911112222"}, token=token)

    # then the guess is refused, and only values shown that way are held back
    assert third["data"]["customerByPhone"] is None
    assert _codes(third) == ["RATE_LIMITED"]
    assert _codes(other) == ["NOT_FOUND"]
    entries = await _entries(server, supervisor)
    assert [(e.details["outcome"], e.details["masked"]) for e in entries] == [
        ("miss", "138****5678"),
        ("miss", "138****5678"),
        ("guessing", "138****5678"),
        ("miss", "139****2222"),
    ]


def test_given_the_environment_sets_the_lookup_limit_then_the_settings_read_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (Settings().lookup_limit_per_hour, Settings().lookup_misses_per_masked_value) == (30, 2)
    monkeypatch.setenv("CARDCRM_LOOKUP_LIMIT_PER_HOUR", "7")
    monkeypatch.setenv("CARDCRM_LOOKUP_MISSES_PER_MASKED_VALUE", "1")
    assert (Settings().lookup_limit_per_hour, Settings().lookup_misses_per_masked_value) == (7, 1)


# -- createCustomer's "already exists" ----------------------------------------------------


def _new_customer(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "王五",
        "birthDate": "1992-05-20",
        "idNumber": "110105199205200019",
        "phone": "13700002222",
        "cards": [],
    }
    data.update(overrides)
    return data


async def test_given_an_existing_national_id_then_the_conflict_is_counted_as_a_lookup(
    server: Server, world: World
) -> None:
    agent, token = await _fresh(server, world, "agent")  # branch BJ-CY
    same_branch = _new_customer(idNumber=ALICE.id_number, birthDate="1990-03-07")
    other_branch = _new_customer(idNumber=BOB.id_number, birthDate="1985-12-01")

    here = await server.graphql(CREATE, {"input": same_branch}, token=token)
    there = await server.graphql(CREATE, {"input": other_branch}, token=token)

    # the same answer wherever the existing record is: no hint of another branch
    assert here["data"]["createCustomer"] == there["data"]["createCustomer"]
    assert here["data"]["createCustomer"]["customer"] is None
    (error,) = here["data"]["createCustomer"]["userErrors"]
    assert (error["code"], error["field"]) == ("CONFLICT", "idNumber")
    entries = await _entries(server, agent)
    assert [_facts(e) for e in entries] == [
        ("customer.lookup", ["idNumber"], "new_customer", "hit")
    ] * 2
    assert [e.target_id for e in entries] == [str(world.alice.id), str(world.bob.id)]


async def test_given_an_existing_card_number_then_the_conflict_is_counted_as_a_lookup(
    server: Server, world: World
) -> None:
    agent, token = await _fresh(server, world, "agent")
    card = {"pan": ALICE.cards[0].pan, "product": "UnionPay Classic", "creditLimit": "1000"}

    body = await server.graphql(CREATE, {"input": _new_customer(cards=[card])}, token=token)

    (error,) = body["data"]["createCustomer"]["userErrors"]
    assert (error["code"], error["field"]) == ("CONFLICT", "cards")
    (entry,) = await _entries(server, agent)
    assert _facts(entry) == ("customer.lookup", ["pan"], "new_customer", "hit")
    assert ALICE.cards[0].pan[-4:] not in json.dumps(entry.details)


async def test_given_the_budget_is_spent_then_create_customer_is_refused_before_any_check(
    server: Server, world: World
) -> None:
    agent, token = await _fresh(server, world, "agent")
    for n in range(server.state.settings.lookup_limit_per_hour):
        await server.graphql(BY_PHONE, {"phone": f"1390000{n:04d}"}, token=token)
    fresh_id = "11010519920520" + "0035"  # no customer holds it: a miss, were it tested
    duplicate = _new_customer(idNumber=ALICE.id_number, birthDate="1990-03-07")

    unknown = await server.graphql(
        CREATE, {"input": _new_customer(idNumber=_valid(fresh_id))}, token=token
    )
    known = await server.graphql(CREATE, {"input": duplicate}, token=token)

    # a spent budget answers alike whether the ID exists or not: it is not tested at all
    for body in (unknown, known):
        assert [e["code"] for e in body["data"]["createCustomer"]["userErrors"]] == ["RATE_LIMITED"]
    outcomes = [e.details.get("outcome") for e in await _entries(server, agent)]
    assert "hit" not in outcomes


def _valid(national_id: str) -> str:
    from models.customers.identifiers import national_id_check_char

    return national_id[:17] + national_id_check_char(national_id[:17])
