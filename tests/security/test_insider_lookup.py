"""The insider (issue 11 item 1): a staff member who is shown a customer's masked phone or
national ID and scripts the exact-match lookups to unmask it, as the issue did: fifteen
aliases a request (``151****7961`` leaves 10,000 candidates, about 400 such requests), then
one lookup a request until refused.

The script here knows more than any masked view shows: Alice's masked phone and national ID,
her birth year and the district digits of her ID, which leave 10,000 phone candidates and
33 check-digit-valid ID candidates. For every staff role it fails: the aliased requests are
refused before anything runs; a role that may not look a field up gets FORBIDDEN for every
try; a role that may gets at most ``lookup_misses_per_masked_value`` answers for one masked
value a day and ``lookup_limit_per_hour`` lookups an hour, counted across instances. Every
attempt, refused or answered, is in the audit log, and no entry holds the value.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from core.identity import Role
from core.settings import Settings
from models.audit.audit import AuditEntry
from models.customers.identifiers import national_id_check_char
from models.organisation.organisation import StaffUser
from tests.conftest import Server
from tests.security.conftest import running_app, variant
from tests.support import ALICE, DEMO_STAFF, World, add_staff

ALIASES_PER_REQUEST = 15
ALIAS_REQUESTS = 3
STAFF_BRANCH = {"supervisor": "BJ-CY", "agent": "BJ-CY"}  # Alice's branch; others see all
QUERY = {
    "phone": "query($v: String!) { customerByPhone(phone: $v, reason: INBOUND_CALL) { id } }",
    "idNumber": (
        "query($v: String!) { customerByIdNumber(idNumber: $v, reason: BRANCH_VISIT) { id } }"
    ),
}
ROOT = {"phone": "customerByPhone", "idNumber": "customerByIdNumber"}
ARGUMENT = {"phone": "phone", "idNumber": "idNumber"}
MAY_LOOK_UP = {"phone": {"admin", "supervisor", "agent"}, "idNumber": {"admin", "supervisor"}}


def phone_candidates(masked: str) -> list[str]:
    """138****5678 → the 10,000 numbers it may stand for."""
    head, tail = masked.split("****")
    return [f"{head}{middle:04d}{tail}" for middle in range(10_000)]


def id_candidates(masked: str, birth_year: int, region: str) -> list[str]:
    """110***********1233, born 1990, district 110101 → the IDs with a valid check digit."""
    sequence, check = masked[-4:-1], masked[-1]
    day, found = date(birth_year, 1, 1), []
    while day.year == birth_year:
        body = f"{region}{day:%Y%m%d}{sequence}"
        if national_id_check_char(body) == check:
            found.append(body + check)
        day += timedelta(days=1)
    return found


CANDIDATES = {
    "phone": phone_candidates("138****5678"),
    "idNumber": id_candidates("110***********1233", 1990, "110101"),
}


@dataclass
class Attack:
    """What the script got: its single-lookup requests, how many were answered (a miss), the
    code that stopped it, and the value it recovered, if any."""

    requests: int = 0
    answered: int = 0
    stopped_by: str | None = None
    recovered: str | None = None


def _aliased(field: str, candidates: list[str]) -> str:
    guesses = " ".join(
        f'g{n}: {ROOT[field]}({ARGUMENT[field]}: "{value}", reason: INBOUND_CALL) {{ id }}'
        for n, value in enumerate(candidates)
    )
    return f"query {{ {guesses} }}"


async def run_script(instances: list[Server], token: str, field: str) -> Attack:
    """The insider's script: batches of aliases first, then one guess a request, spread over
    the instances behind the load balancer, until found or refused."""
    candidates = CANDIDATES[field]
    for batch in range(ALIAS_REQUESTS):
        chunk = candidates[batch * ALIASES_PER_REQUEST : (batch + 1) * ALIASES_PER_REQUEST]
        body = await instances[batch % 2].graphql(_aliased(field, chunk), token=token)
        assert body.get("data") is None, body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    attack = Attack()
    for value in candidates:
        server = instances[attack.requests % 2]
        body = await server.graphql(QUERY[field], {"v": value}, token=token)
        attack.requests += 1
        if body["data"][ROOT[field]] is not None:
            attack.recovered = value
            break
        (code,) = [error["extensions"]["code"] for error in body["errors"]]
        if code != "NOT_FOUND":
            attack.stopped_by = code
            break
        attack.answered += 1
    return attack


@pytest.fixture(scope="module")
async def second(server: Server, settings: Settings) -> AsyncIterator[Server]:
    """A second instance on the shared database, as behind a load balancer."""
    async with running_app(variant(settings)) as app:
        yield app


async def _insider(server: Server, world: World, role: str) -> tuple[StaffUser, str]:
    user = await add_staff(server.state, world, role=role, branch=STAFF_BRANCH.get(role))
    token = server.state.tokens.issue(
        subject=str(user.id),
        role=Role(role),
        client_id="cardcrm-console",
        branch_id=user.branch_id,
        username=user.username,
    )
    return user, token


async def _log_of(server: Server, user: StaffUser) -> list[AuditEntry]:
    async with server.state.database.session() as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(col(AuditEntry.actor_id) == str(user.id))
            .order_by(col(AuditEntry.seq))
        )
        return list(rows.all())


@pytest.mark.parametrize("field", ["phone", "idNumber"])
@pytest.mark.parametrize("role", list(DEMO_STAFF))
async def test_given_an_insider_of_any_role_then_the_script_recovers_nothing_and_is_logged(
    server: Server, second: Server, world: World, role: str, field: str
) -> None:
    # given: an insider, and a script whose candidates hold Alice's value (10,000 phones;
    # "about 33" IDs, as the issue counted)
    user, token = await _insider(server, world, role)
    settings = server.state.settings
    assert getattr(ALICE, "phone" if field == "phone" else "id_number") in CANDIDATES[field]
    assert len(CANDIDATES["phone"]) == 10_000
    assert 25 <= len(CANDIDATES["idNumber"]) <= 40

    attack = await run_script([server, second], token, field)

    # then: nothing recovered, and the script was stopped early
    assert attack.recovered is None
    if role in MAY_LOOK_UP[field]:
        assert attack.stopped_by == "RATE_LIMITED"
        assert attack.answered == settings.lookup_misses_per_masked_value
    else:
        assert attack.stopped_by == "FORBIDDEN"
        assert attack.answered == 0
    # its chance, had the target been among the first guesses: at most 2 in 33 for the ID
    assert attack.answered / len(CANDIDATES[field]) <= 0.1
    # and every attempt is in the audit log, none with the value
    log = await _log_of(server, user)
    assert len(log) == ALIAS_REQUESTS + attack.requests
    batches, singles = log[:ALIAS_REQUESTS], log[ALIAS_REQUESTS:]
    assert {(e.action, e.details["outcome"]) for e in batches} == {
        ("customer.lookup.refused", "several_lookups")
    }
    assert [e.details["outcome"] for e in singles] == ["miss"] * attack.answered + [
        "guessing" if attack.stopped_by == "RATE_LIMITED" else "forbidden"
    ]
    assert all(e.fields in ([field], [ROOT[field]]) for e in log)
    written = json.dumps([(e.purpose, e.details, e.target_id) for e in log], ensure_ascii=False)
    assert ALICE.phone not in written
    assert ALICE.id_number not in written


async def test_given_an_insider_sweeping_many_values_then_the_hourly_budget_stops_it_across_instances(
    server: Server, second: Server, world: World
) -> None:
    """Guesses at many different masked values dodge the per-value cap; the hourly budget,
    counted in the audit log that both instances write, stops them all the same."""
    user, token = await _insider(server, world, "supervisor")
    budget = server.state.settings.lookup_limit_per_hour
    answered, stopped_by = 0, None
    for n in range(budget + 5):
        body = await [server, second][n % 2].graphql(
            QUERY["phone"], {"v": f"1380000{n:04d}"}, token=token
        )
        (code,) = [error["extensions"]["code"] for error in body["errors"]]
        if code != "NOT_FOUND":
            stopped_by = code
            break
        answered += 1

    assert (answered, stopped_by) == (budget, "RATE_LIMITED")
    outcomes = [e.details["outcome"] for e in await _log_of(server, user)]
    assert outcomes == ["miss"] * budget + ["rate_limited"]


CREATE = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { userErrors { code } }
}
"""
BUDGET_OF_TWO = 2
CONCURRENT_CREATES = 8


async def test_given_concurrent_duplicate_creates_then_only_the_budget_of_them_tell_the_conflict(
    server: Server, world: World, settings: Settings
) -> None:
    """``createCustomer``'s "already exists" is a lookup: requests sent together must not all
    pass the budget check before any of them is counted."""
    user, token = await _insider(server, world, "agent")
    duplicate = {
        "name": "王五",
        "birthDate": "1990-03-07",
        "idNumber": ALICE.id_number,
        "phone": "13700002222",
        "cards": [],
    }
    async with running_app(variant(settings, lookup_limit_per_hour=BUDGET_OF_TWO)) as app:
        bodies = await asyncio.gather(
            *(
                app.graphql(CREATE, {"input": duplicate}, token=token)
                for _ in range(CONCURRENT_CREATES)
            )
        )

    codes = sorted(
        error["code"] for body in bodies for error in body["data"]["createCustomer"]["userErrors"]
    )
    assert codes == ["CONFLICT"] * BUDGET_OF_TWO + ["RATE_LIMITED"] * (
        CONCURRENT_CREATES - BUDGET_OF_TWO
    )
    hits = [e for e in await _log_of(server, user) if e.details.get("outcome") == "hit"]
    assert len(hits) == BUDGET_OF_TWO


async def test_given_a_batch_of_lookups_then_it_is_refused_before_any_runs_and_audited(
    server: Server, world: World, settings: Settings
) -> None:
    """With batching on, fifteen operations of one lookup each would be fifteen lookups in
    one request, as fifteen aliases would: the limit is one lookup per request."""
    user, token = await _insider(server, world, "supervisor")
    guesses = [{"query": QUERY["phone"], "variables": {"v": f"1380000{n:04d}"}} for n in range(15)]
    async with running_app(variant(settings, max_batch_size=15, batching_enabled=True)) as app:
        refused = await app.client.post(
            "/graphql", json=guesses, headers={"Authorization": f"Bearer {token}"}
        )
        one = await app.client.post(
            "/graphql",
            json=[guesses[0], {"query": "{ __typename }"}],
            headers={"Authorization": f"Bearer {token}"},
        )

    assert refused.status_code == 400, refused.text
    assert one.status_code == 200, one.text
    assert [e.details["outcome"] for e in await _log_of(server, user)] == [
        "several_lookups",
        "miss",
    ]


async def test_given_an_agent_guessing_a_masked_id_by_creating_customers_then_the_guess_cap_stops_it(
    server: Server, world: World
) -> None:
    """An agent may not look a national ID up, but each customer it creates tells it that
    the ID was not registered, and the one that is answers "already exists": 33 creates
    would find Alice's ID. Creates are misses on their ID's masked form, capped like
    lookups, and the cap comes before the duplicate test."""
    user, token = await _insider(server, world, "agent")
    cap = server.state.settings.lookup_misses_per_masked_value
    wrong = [c for c in CANDIDATES["idNumber"] if c != ALICE.id_number][:cap]
    codes = []
    for guess in [*wrong, ALICE.id_number]:
        person = {
            "name": "王五",
            "birthDate": f"{guess[6:10]}-{guess[10:12]}-{guess[12:14]}",
            "idNumber": guess,
            "phone": "13700002222",
            "cards": [],
        }
        body = await server.graphql(CREATE, {"input": person}, token=token)
        codes.append([e["code"] for e in body["data"]["createCustomer"]["userErrors"]])

    assert codes == [[]] * cap + [["RATE_LIMITED"]]
    log = await _log_of(server, user)
    assert [(e.action, e.details.get("outcome")) for e in log] == [
        ("customer.create", None)
    ] * cap + [("customer.lookup.refused", "guessing")]
    assert {e.details["masked"] for e in log} == {"110***********1233"}


async def test_given_a_lookup_sent_by_get_then_it_is_refused_before_it_runs(
    server: Server, world: World
) -> None:
    """A GET carries its variables in the URL, which proxies, CDNs and browser histories
    keep: a lookup by GET would write the phone number it looks up into their logs."""
    user, token = await _insider(server, world, "supervisor")
    params = {"query": QUERY["phone"], "variables": json.dumps({"v": ALICE.phone})}

    response = await server.client.get(
        "/graphql", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    other = await server.client.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 405, response.text
    assert other.status_code == 200, other.text
    assert await _log_of(server, user) == []
