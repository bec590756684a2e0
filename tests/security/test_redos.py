"""No check of user-supplied text takes time that grows faster than the text (issue 11,
item 2): a 1 MiB string shaped to make a backtracking pattern or a quadratic scan slow is
answered in well under a second by every check that reads request data, called directly and
through the real server. Each check's length bound (``core.text_limits``) runs first, and the
checks left use plain string operations or patterns that cannot backtrack.

In production the old "did you mean" stripping took 24.7 s on an 80 KB query and the old
purpose check 19.7 s on a 48 KB purpose, each blocking every request on its worker.
"""

from __future__ import annotations

import contextlib
import datetime
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from api.admission.limits import client_policy
from api.admission.manifest import is_sha256
from api.metrics import safe_operation_name
from api.middleware import _incoming_request_id
from auth.masking import MaskKind, mask
from core import text_limits
from core.errors import BadUserInput
from core.settings import Environment, Settings
from models.customers.identifiers import (
    InvalidIdentifier,
    normalize_email,
    normalize_mobile,
    normalize_name,
    normalize_national_id,
    normalize_pan,
)
from resolvers.customers.input import checked, checked_address, checked_tags, checked_time
from resolvers.growth.codes import normalize_code
from resolvers.growth.offer_input import OfferTerms
from resolvers.growth.tier_override import checked_reason
from resolvers.purpose import check_purpose
from resolvers.transactions.rows import RawRow, RowError, check_row
from schema.relay import to_global_id
from tests.conftest import Server, staff_token
from tests.security.conftest import running_app, variant
from tests.support import World

MEBIBYTE = 1 << 20
SECONDS_PER_CHECK = 1.0
# graphql-core's lexer alone takes about half a second over a 1 MiB literal in a document
# (linear: it reads one character at a time); a request that carries one gets twice the bound.
SECONDS_PER_MEBIBYTE_DOCUMENT = 2 * SECONDS_PER_CHECK
# Shapes that make backtracking patterns and naive scans slow, each 1 MiB long.
ADVERSARIAL = {
    "one unit repeated, then a different end": "abcd" * (MEBIBYTE // 4 - 1) + "abce",
    "at signs without a dot": "a@" * (MEBIBYTE // 2),
    "spaces between two letters": "x" + " " * (MEBIBYTE - 2) + "x",
    "digit groups split by spaces": "1234 " * (MEBIBYTE // 5),
    "dots between labels": "a." * (MEBIBYTE // 2),
    "almost a suggestion": " Did you mean" + " " * (MEBIBYTE - 20) + "x",
}
SHAPES = list(ADVERSARIAL)


def _terms(**changes: Any) -> OfferTerms:
    now = datetime.datetime.now(datetime.UTC)
    fields: dict[str, Any] = {
        "merchant_id": uuid.uuid4(),
        "title": "coffee",
        "benefit_type": "percent_off",
        "benefit_value": 10,
        "starts_at": now + datetime.timedelta(days=1),
        "ends_at": now + datetime.timedelta(days=30),
    }
    return OfferTerms(**{**fields, **changes})


# Every check that reads request text, each called with the adversarial string.
CHECKS: dict[str, Callable[[str], object]] = {
    "reveal purpose": lambda s: check_purpose(s, 10),
    "tier override reason": lambda s: checked_reason(s, 10),
    "name": lambda s: checked("name", normalize_name, s),
    "phone": lambda s: checked("phone", normalize_mobile, s),
    "idNumber": lambda s: checked("idNumber", normalize_national_id, s),
    "email": lambda s: checked("email", normalize_email, s),
    "pan": lambda s: checked("cards[0].pan", normalize_pan, s),
    "address": checked_address,
    "do-not-disturb time": lambda s: checked_time("consent.doNotDisturbStart", s),
    "one tag": lambda s: checked_tags([s]),
    "a tag per character": lambda s: checked_tags(list(s)),
    "interaction notes, complaint text": lambda s: text_limits.checked_text(
        "notes", s, required=True
    ),
    "offer title": lambda s: _terms(title=s).checked(),
    "offer segment": lambda s: _terms(eligible_segments=(s,)).checked(),
    "transaction row": lambda s: check_row(
        RawRow(1, dict.fromkeys(("card_id", "pan", "amount", "merchant", "time"), s)),
        now=datetime.datetime.now(datetime.UTC),
    ),
    "transaction amount": lambda s: check_row(
        RawRow(1, {"card_id": str(uuid.uuid4()), "amount": s}),
        now=datetime.datetime.now(datetime.UTC),
    ),
    "redemption code": normalize_code,
    "app version header": lambda s: client_policy(Settings(), "client", s),
    "request id header": lambda s: _incoming_request_id(
        {"type": "http", "headers": [(b"x-request-id", s.encode())]}
    ),
    "operation name (metrics)": safe_operation_name,
    "persisted query hash": is_sha256,
    **{
        f"identifier normalisation ({normalize.__name__}, unbounded)": normalize
        for normalize in (
            normalize_name,
            normalize_mobile,
            normalize_national_id,
            normalize_email,
            normalize_pan,
        )
    },
    **{f"masking ({kind.value})": lambda s, kind=kind: mask(kind, s) for kind in MaskKind},
}


def _seconds(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    with contextlib.suppress(BadUserInput, InvalidIdentifier, RowError):
        call()
    return time.perf_counter() - started


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("check", list(CHECKS))
def test_every_check_answers_a_mebibyte_in_well_under_a_second(check: str, shape: str) -> None:
    text = ADVERSARIAL[shape]
    assert len(text) >= MEBIBYTE - 8
    assert _seconds(lambda: CHECKS[check](text)) < SECONDS_PER_CHECK


def test_a_long_purpose_is_refused_for_its_length_before_anything_reads_it() -> None:
    with pytest.raises(BadUserInput) as refused:
        check_purpose(ADVERSARIAL["one unit repeated, then a different end"], 10)
    assert refused.value.message == f"purpose may be at most {text_limits.PURPOSE} characters"


def test_a_trailing_newline_no_longer_slips_past_an_anchored_pattern() -> None:
    """``$`` also matches before a final newline; the patterns are matched whole instead."""
    settings = Settings(client_max_query_cost={"app/1.0": 7})
    assert client_policy(settings, "app", "1.0").max_cost == 7
    assert client_policy(settings, "app", "1.0\n").client == "app"  # no version, not "1.0\n"
    assert _incoming_request_id({"headers": [(b"x-request-id", b"request-1\n")]}) is None
    assert safe_operation_name("Operation\n") is None
    assert not is_sha256("a" * 64 + "\n")
    with pytest.raises(BadUserInput):
        checked_time("consent.doNotDisturbStart", "21:30\n")


# Through the real server: a body big enough to carry the mebibyte, in production (where the
# suggestions used to be stripped by a pattern) and in development (where graphql computes them).
BODY_LIMIT = 4 * MEBIBYTE
REVEAL = """
mutation Reveal($input: RevealCustomerPiiInput!) {
  revealCustomerPii(input: $input) { values { value } userErrors { field code } }
}
"""
CREATE = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } userErrors { field code } }
}
"""


@pytest.fixture(scope="module", params=[Environment.PRODUCTION, Environment.DEVELOPMENT])
async def roomy(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Server]:
    roomy = variant(settings, environment=request.param, max_request_bytes=BODY_LIMIT)
    async with running_app(roomy) as app:
        yield app


async def _timed(server: Server, query: str, variables: Any, token: str) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await server.post(query, variables, token=token)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text[:300]
    return elapsed, response.json()


def _codes(body: Any) -> set[str]:
    return {str(error["extensions"]["code"]) for error in body.get("errors", [])}


async def test_a_mebibyte_string_where_an_int_belongs_is_answered_at_once(
    server: Server, roomy: Server, world: World
) -> None:
    query = (
        '{ customers(first: "' + ADVERSARIAL["spaces between two letters"] + '") { totalCount } }'
    )
    token = staff_token(server, world, "demo-supervisor")
    elapsed, body = await _timed(roomy, query, None, token)
    assert _codes(body) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "Did you mean" not in body["errors"][0]["message"][-200:]
    assert elapsed < SECONDS_PER_MEBIBYTE_DOCUMENT


async def test_a_mebibyte_field_name_is_answered_at_once(
    server: Server, roomy: Server, world: World
) -> None:
    query = "{ tiers { n" + "a" * MEBIBYTE + " } }"
    token = staff_token(server, world, "demo-supervisor")
    elapsed, body = await _timed(roomy, query, None, token)
    assert _codes(body) == {"GRAPHQL_VALIDATION_FAILED"}
    assert elapsed < SECONDS_PER_MEBIBYTE_DOCUMENT


@pytest.mark.parametrize("shape", SHAPES)
async def test_a_mebibyte_purpose_is_refused_at_once(
    server: Server, roomy: Server, world: World, shape: str
) -> None:
    purpose = ADVERSARIAL[shape]
    customer = to_global_id("Customer", world.alice.id)
    variables = {"input": {"customerId": customer, "fields": ["PHONE"], "purpose": purpose}}
    token = staff_token(server, world, "demo-supervisor")
    elapsed, body = await _timed(roomy, REVEAL, variables, token)
    payload = body["data"]["revealCustomerPii"]
    assert payload == {"values": [], "userErrors": [{"field": "purpose", "code": "BAD_USER_INPUT"}]}
    assert elapsed < SECONDS_PER_CHECK


@pytest.mark.parametrize("field", ["name", "phone", "idNumber", "email", "address", "tags"])
async def test_a_mebibyte_customer_field_is_refused_at_once(
    server: Server, roomy: Server, world: World, field: str
) -> None:
    value = ADVERSARIAL["at signs without a dot"]
    data: dict[str, Any] = {
        "name": "王五",
        "birthDate": "1992-05-20",
        "idNumber": "110105199205200019",
        "phone": "13700001111",
        field: [value] if field == "tags" else value,
    }
    token = staff_token(server, world, "demo-agent")
    elapsed, body = await _timed(roomy, CREATE, {"input": data}, token)
    (error,) = body["data"]["createCustomer"]["userErrors"]
    assert error == {"field": "tags[0]" if field == "tags" else field, "code": "BAD_USER_INPUT"}
    assert elapsed < SECONDS_PER_CHECK
