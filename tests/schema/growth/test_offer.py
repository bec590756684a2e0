"""Offers over HTTP: who may write and read them, the customer's view → accept → code, scope,
and recommendations ranked by spend affinity in a constant number of statements.

The shared world is used by every test, so each test here targets only customers it created:
its offers are restricted to a segment of its own (``t_<random>``) that only they carry.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from models.columns import utcnow
from models.customers.customer import Customer
from models.growth.customer_metrics import CustomerMetrics
from models.growth.offer import Offer, OfferAssignment
from models.merchants.merchant import Merchant
from resolvers.customers.input import Consent
from resolvers.growth.codes import code_index
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF as STAFF
from tests.support import World, add_customer, add_oauth_client, client_credentials_token

OFFER_FIELDS = """
  id title status version allowedActions merchantName benefitType benefitValue quota
  budget minSpend eligibleSegments spendCategories createdBy { role }
"""
CREATE = f"""
mutation Create($input: CreateOfferInput!) {{
  createOffer(input: $input) {{ offer {{ {OFFER_FIELDS} }} userErrors {{ field code message }} }}
}}
"""
UPDATE = f"""
mutation Update($input: UpdateOfferInput!) {{
  updateOffer(input: $input) {{ offer {{ {OFFER_FIELDS} }} userErrors {{ field code message }} }}
}}
"""
ACTION = """
mutation Act($input: OfferActionInput!) {{
  {name}(input: $input) {{ offer {{ id status version allowedActions }} userErrors {{ field code message }} }}
}}
"""
TARGET = """
mutation Target($input: TargetOfferInput!) {
  targetOffer(input: $input) { targeted skippedOverQuota offer { id } userErrors { field code message } }
}
"""
ASSIGNMENT_FIELDS = """
  id status viewedAt acceptedAt redemptionCode
  offer { offerId title merchantName benefitType benefitValue startsAt endsAt status }
"""
VIEW = f"""
mutation View($input: OfferAssignmentInput!) {{
  viewOffer(input: $input) {{ assignment {{ {ASSIGNMENT_FIELDS} }} userErrors {{ field code message }} }}
}}
"""
ACCEPT = f"""
mutation Accept($input: OfferAssignmentInput!) {{
  acceptOffer(input: $input) {{ assignment {{ {ASSIGNMENT_FIELDS} }} userErrors {{ field code message }} }}
}}
"""
MY_OFFERS = f"""
query Mine($status: AssignmentStatus) {{
  me {{ offers(status: $status) {{ totalCount edges {{ node {{ {ASSIGNMENT_FIELDS} }} }} }} }}
}}
"""
CUSTOMER_OFFERS = """
query TheirOffers($id: ID!) {
  customer(id: $id) { offers { edges { node { id status redemptionCode offer { title } } } } }
}
"""
OFFERS = """
query Offers($filter: OfferFilter) {
  offers(first: 100, filter: $filter) { totalCount edges { node { id status title } } }
}
"""
MY_RECOMMENDATIONS = """
{ me { recommendedOffers(first: 50) { affinity assignmentId offer { offerId title category } } } }
"""
CODE_SHAPE = re.compile(r"^[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}$")


def _payload(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    result: dict[str, Any] = payload
    return result


def _segment() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


async def _merchant(server: Server, name: str = "测试商户") -> str:
    async with server.state.database.session() as session:
        merchant = Merchant(name=name, category="dining")
        session.add(merchant)
        await session.commit()
        return to_global_id("Merchant", merchant.id)


def _offer_input(merchant_id: str, segment: str, **overrides: Any) -> dict[str, Any]:
    now = utcnow()
    return {
        "merchantId": merchant_id,
        "title": "测试优惠",
        "category": "DINING",
        "benefitType": "PERCENT_OFF",
        "benefitValue": 20,
        "startsAt": _iso(now - timedelta(days=1)),
        "endsAt": _iso(now + timedelta(days=30)),
        "eligibleSegments": [segment],
        **overrides,
    }


async def _create(server: Server, world: World, data: dict[str, Any]) -> dict[str, Any]:
    token = staff_token(server, world, "demo-marketer")
    payload = _payload(await server.graphql(CREATE, {"input": data}, token=token))
    assert payload["userErrors"] == [], payload
    offer: dict[str, Any] = payload["offer"]
    return offer


async def _act(
    server: Server, world: World, name: str, offer: dict[str, Any], user: str = "demo-marketer"
) -> dict[str, Any]:
    query = ACTION.format(name=name)
    variables = {"input": {"id": offer["id"], "version": offer["version"]}}
    return _payload(await server.graphql(query, variables, token=staff_token(server, world, user)))


async def _live_offer(
    server: Server, world: World, segment: str, **overrides: Any
) -> dict[str, Any]:
    merchant = await _merchant(server)
    draft = await _create(server, world, _offer_input(merchant, segment, **overrides))
    activated = await _act(server, world, "activateOffer", draft)
    assert activated["userErrors"] == [], activated
    offer: dict[str, Any] = activated["offer"]
    return offer


async def _customer(
    server: Server,
    world: World,
    segment: str,
    *,
    consent: Consent | None = None,
    spend: dict[str, int] | None = None,
    branch: str = "BJ-CY",
) -> uuid.UUID:
    """A customer of the test's own segment, with marketing consent unless told otherwise."""
    customer_id = await add_customer(
        server.state, world, branch=branch, consent=consent or Consent(push=True)
    )
    async with server.state.database.session() as session:
        await session.execute(
            update(Customer)
            .where(Customer.id == customer_id)  # type: ignore[arg-type]
            .values(segments=[segment], lifecycle_stage="active")
        )
        if spend is not None:
            session.add(
                CustomerMetrics(
                    customer_id=customer_id,
                    evaluated_at=utcnow(),
                    window_days=90,
                    frequency=10,
                    monetary_cents=sum(spend.values()),
                    category_spend=spend,
                )
            )
        await session.commit()
    return customer_id


async def _target(server: Server, world: World, offer: dict[str, Any]) -> dict[str, Any]:
    token = staff_token(server, world, "demo-marketer")
    return _payload(await server.graphql(TARGET, {"input": {"offerId": offer["id"]}}, token=token))


async def _my_offers(
    server: Server, customer_id: uuid.UUID, status: str | None = None
) -> dict[str, Any]:
    body = await server.graphql(
        MY_OFFERS, {"status": status}, token=customer_token(server, customer_id)
    )
    assert "errors" not in body, body
    offers: dict[str, Any] = body["data"]["me"]["offers"]
    return offers


async def _merchant_token(server: Server) -> str:
    """A real partner merchant's client-credentials token, as a merchant would hold one."""
    credentials = await add_oauth_client(
        server.state, scopes="offers:read offers:redeem", merchant="测试合作商户"
    )
    return await client_credentials_token(server.client, credentials)


# --- who may write and read offers -------------------------------------------------------


@pytest.mark.parametrize("role", ["marketer", "admin"])
async def test_marketers_and_admins_create_draft_offers(
    server: Server, world: World, role: str
) -> None:
    merchant = await _merchant(server, "街角面包")
    token = staff_token(server, world, STAFF[role])
    data = _offer_input(merchant, _segment(), quota=100, spendCategories=["DINING", "TRAVEL"])

    payload = _payload(await server.graphql(CREATE, {"input": data}, token=token))

    assert payload["userErrors"] == []
    offer = payload["offer"]
    assert (offer["status"], offer["version"], offer["merchantName"]) == ("DRAFT", 1, "街角面包")
    assert offer["allowedActions"] == ["ACTIVATE", "EXPIRE"]
    assert offer["spendCategories"] == ["DINING", "TRAVEL"]
    assert offer["createdBy"] == {"role": role.upper()}


@pytest.mark.parametrize("role", ["supervisor", "agent", "risk_officer", "auditor"])
async def test_other_staff_may_not_write_offers(server: Server, world: World, role: str) -> None:
    merchant = await _merchant(server)
    token = staff_token(server, world, STAFF[role])
    payload = _payload(
        await server.graphql(CREATE, {"input": _offer_input(merchant, _segment())}, token=token)
    )
    assert payload["offer"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]


@pytest.mark.parametrize("caller", ["customer", "merchant"])
async def test_customer_and_merchant_tokens_may_not_write_offers(
    server: Server, world: World, caller: str
) -> None:
    draft = await _create(server, world, _offer_input(await _merchant(server), _segment()))
    token = (
        customer_token(server, world.alice.id)
        if caller == "customer"
        else await _merchant_token(server)
    )
    writes = [
        (CREATE, {"input": _offer_input(await _merchant(server), _segment())}),
        (UPDATE, {"input": {"id": draft["id"], "version": 1, "title": "改了"}}),
        (ACTION.format(name="activateOffer"), {"input": {"id": draft["id"], "version": 1}}),
        (TARGET, {"input": {"offerId": draft["id"]}}),
    ]
    for query, variables in writes:
        payload = _payload(await server.graphql(query, variables, token=token))
        assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"], (query, payload)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("admin", True),
        ("supervisor", True),
        ("agent", True),
        ("marketer", True),
        ("auditor", True),
        ("risk_officer", False),
    ],
)
async def test_staff_with_offers_read_list_offers(
    server: Server, world: World, role: str, allowed: bool
) -> None:
    draft = await _create(server, world, _offer_input(await _merchant(server), _segment()))
    body = await server.graphql(
        OFFERS, {"filter": {"status": "DRAFT"}}, token=staff_token(server, world, STAFF[role])
    )
    if not allowed:
        assert body["data"] == {"offers": None}
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        return
    assert "errors" not in body, body
    ids = {edge["node"]["id"] for edge in body["data"]["offers"]["edges"]}
    assert draft["id"] in ids
    assert {edge["node"]["status"] for edge in body["data"]["offers"]["edges"]} == {"DRAFT"}


@pytest.mark.parametrize("caller", ["customer", "merchant"])
async def test_customers_and_merchants_cannot_list_or_fetch_offers(
    server: Server, world: World, caller: str
) -> None:
    draft = await _create(server, world, _offer_input(await _merchant(server), _segment()))
    token = (
        customer_token(server, world.alice.id)
        if caller == "customer"
        else await _merchant_token(server)
    )
    listed = await server.graphql(OFFERS, token=token)
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    node = await server.graphql(
        "query N($id: ID!) { node(id: $id) { id } }", {"id": draft["id"]}, token=token
    )
    assert node["data"]["node"] is None
    assert node["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_staff_fetch_an_offer_as_a_node(server: Server, world: World) -> None:
    draft = await _create(server, world, _offer_input(await _merchant(server), _segment()))
    body = await server.graphql(
        "query N($id: ID!) { node(id: $id) { id ... on Offer { title status } } }",
        {"id": draft["id"]},
        token=staff_token(server, world, "demo-auditor"),
    )
    assert body["data"]["node"] == {"id": draft["id"], "title": "测试优惠", "status": "DRAFT"}


# --- the workflow over HTTP ------------------------------------------------------------


async def test_an_offer_moves_draft_active_paused_active_expired(
    server: Server, world: World
) -> None:
    draft = await _create(server, world, _offer_input(await _merchant(server), _segment()))

    active = (await _act(server, world, "activateOffer", draft))["offer"]
    paused = (await _act(server, world, "pauseOffer", active))["offer"]
    again = (await _act(server, world, "activateOffer", paused))["offer"]
    expired = (await _act(server, world, "expireOffer", again))["offer"]

    assert [o["status"] for o in (active, paused, again, expired)] == [
        "ACTIVE",
        "PAUSED",
        "ACTIVE",
        "EXPIRED",
    ]
    assert [o["version"] for o in (active, paused, again, expired)] == [2, 3, 4, 5]
    assert paused["allowedActions"] == ["ACTIVATE", "EXPIRE"]
    assert expired["allowedActions"] == []
    refused = await _act(server, world, "activateOffer", expired)
    assert refused["offer"] is None
    assert refused["userErrors"][0]["code"] == "CONFLICT"
    assert "cannot activate an offer that is expired" in refused["userErrors"][0]["message"]


async def test_an_active_offer_past_its_window_is_listed_as_expired(
    server: Server, world: World
) -> None:
    offer = await _live_offer(server, world, _segment())
    async with server.state.database.session() as session:
        await session.execute(
            update(Offer)
            .where(Offer.id == uuid.UUID(_raw_id(offer["id"])))  # type: ignore[arg-type]
            .values(starts_at=utcnow() - timedelta(days=9), ends_at=utcnow() - timedelta(days=1))
        )
        await session.commit()
    token = staff_token(server, world, "demo-marketer")

    listed = {}
    for status in ("ACTIVE", "EXPIRED"):
        body = await server.graphql(OFFERS, {"filter": {"status": status}}, token=token)
        listed[status] = {edge["node"]["id"] for edge in body["data"]["offers"]["edges"]}

    assert offer["id"] in listed["EXPIRED"]
    assert offer["id"] not in listed["ACTIVE"]
    refused = _payload(
        await server.graphql(TARGET, {"input": {"offerId": offer["id"]}}, token=token)
    )
    assert refused["userErrors"][0]["code"] == "CONFLICT"


async def test_pausing_a_draft_is_refused_naming_what_is_allowed(
    server: Server, world: World
) -> None:
    draft = await _create(server, world, _offer_input(await _merchant(server), _segment()))
    refused = await _act(server, world, "pauseOffer", draft)
    assert refused["userErrors"] == [
        {
            "field": "status",
            "code": "CONFLICT",
            "message": "cannot pause an offer that is draft; allowed next: activate, expire",
        }
    ]


async def test_a_stale_version_is_a_conflict_and_changes_nothing(
    server: Server, world: World
) -> None:
    draft = await _create(server, world, _offer_input(await _merchant(server), _segment()))
    token = staff_token(server, world, "demo-marketer")
    first = _payload(
        await server.graphql(
            UPDATE, {"input": {"id": draft["id"], "version": 1, "quota": 50}}, token=token
        )
    )
    assert (first["offer"]["quota"], first["offer"]["version"]) == (50, 2)

    stale = _payload(
        await server.graphql(
            UPDATE, {"input": {"id": draft["id"], "version": 1, "title": "旧版本"}}, token=token
        )
    )
    assert stale["offer"] is None
    assert [(e["field"], e["code"]) for e in stale["userErrors"]] == [("version", "CONFLICT")]
    cleared = _payload(
        await server.graphql(
            UPDATE, {"input": {"id": draft["id"], "version": 2, "quota": None}}, token=token
        )
    )
    assert (cleared["offer"]["quota"], cleared["offer"]["title"]) == (None, "测试优惠")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"benefitValue": 0}, "benefitValue"),
        ({"benefitValue": 101}, "benefitValue"),
        ({"benefitValue": "12.5"}, "benefitValue"),
        ({"benefitType": "AMOUNT_OFF", "benefitValue": 0}, "benefitValue"),
        ({"benefitType": "CASHBACK", "benefitValue": "8.888"}, "benefitValue"),
        ({"benefitType": "POINTS_MULTIPLIER", "benefitValue": "2.5"}, "benefitValue"),
        ({"budget": "1.234"}, "budget"),
        ({"budget": "0"}, "budget"),
        ({"budget": "NaN"}, "budget"),
        ({"budget": "21474836.48"}, "budget"),
        ({"minSpend": "-0.01"}, "minSpend"),
        ({"endsAt": "2020-01-01T00:00:00Z", "startsAt": "2020-02-01T00:00:00Z"}, "endsAt"),
        ({"eligibleSegments": ["Not A Code!"]}, "eligibleSegments"),
        ({"quota": 0}, "quota"),
        ({"merchantId": to_global_id("Merchant", uuid.uuid4())}, "merchantId"),
    ],
)
async def test_bad_terms_are_bad_user_input_naming_the_field(
    server: Server, world: World, overrides: dict[str, Any], field: str
) -> None:
    data = _offer_input(await _merchant(server), _segment(), **overrides)
    token = staff_token(server, world, "demo-marketer")
    payload = _payload(await server.graphql(CREATE, {"input": data}, token=token))
    assert payload["offer"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, "BAD_USER_INPUT")]


async def test_money_is_given_and_shown_in_yuan(server: Server, world: World) -> None:
    data = _offer_input(
        await _merchant(server),
        _segment(),
        benefitType="CASHBACK",
        benefitValue="8.80",
        budget="1234.56",
        minSpend="100",
    )

    offer = await _create(server, world, data)

    assert (offer["budget"], offer["minSpend"]) == ("1234.56", "100.00")
    assert (offer["benefitType"], offer["benefitValue"]) == ("CASHBACK", "8.80")
    async with server.state.database.session() as session:
        row = await session.get(Offer, uuid.UUID(_raw_id(offer["id"])))
    assert row is not None
    assert (row.budget_cents, row.min_spend_cents, row.benefit_value) == (123_456, 10_000, 880)


async def test_a_percent_and_a_multiplier_are_whole_numbers(server: Server, world: World) -> None:
    merchant = await _merchant(server)
    percent = await _create(server, world, _offer_input(merchant, _segment(), benefitValue="15"))
    token = staff_token(server, world, "demo-marketer")

    refused = _payload(
        await server.graphql(
            CREATE, {"input": _offer_input(merchant, _segment(), benefitValue="15.5")}, token=token
        )
    )

    assert (percent["benefitType"], percent["benefitValue"]) == ("PERCENT_OFF", "15")
    assert refused["offer"] is None
    assert refused["userErrors"] == [
        {
            "field": "benefitValue",
            "code": "BAD_USER_INPUT",
            "message": "benefitValue of a percent_off offer must be a whole number "
            "(from 1 to 100 percent)",
        }
    ]


async def test_more_than_two_decimals_of_a_budget_is_refused_naming_the_field(
    server: Server, world: World
) -> None:
    data = _offer_input(await _merchant(server), _segment(), budget="1.234")
    payload = _payload(
        await server.graphql(
            CREATE, {"input": data}, token=staff_token(server, world, "demo-marketer")
        )
    )
    assert payload == {
        "offer": None,
        "userErrors": [
            {
                "field": "budget",
                "code": "BAD_USER_INPUT",
                "message": "budget may have at most two decimals",
            }
        ],
    }


async def test_an_update_changes_money_in_yuan_and_null_clears_the_budget(
    server: Server, world: World
) -> None:
    draft = await _create(
        server, world, _offer_input(await _merchant(server), _segment(), budget="50")
    )
    token = staff_token(server, world, "demo-marketer")
    changes = {
        "budget": "99.99",
        "minSpend": "10.5",
        "benefitType": "AMOUNT_OFF",
        "benefitValue": "5.20",
    }

    changed = _payload(
        await server.graphql(
            UPDATE, {"input": {"id": draft["id"], "version": 1, **changes}}, token=token
        )
    )
    cleared = _payload(
        await server.graphql(
            UPDATE, {"input": {"id": draft["id"], "version": 2, "budget": None}}, token=token
        )
    )

    assert draft["budget"] == "50.00"
    offer = changed["offer"]
    assert (offer["budget"], offer["minSpend"], offer["benefitValue"]) == ("99.99", "10.50", "5.20")
    assert (cleared["offer"]["budget"], cleared["offer"]["minSpend"]) == (None, "10.50")


async def test_an_update_of_the_benefit_value_needs_its_type(server: Server, world: World) -> None:
    draft = await _create(server, world, _offer_input(await _merchant(server), _segment()))
    token = staff_token(server, world, "demo-marketer")
    update = {"id": draft["id"], "version": 1, "benefitValue": "30"}

    alone = _payload(await server.graphql(UPDATE, {"input": update}, token=token))
    typed = _payload(
        await server.graphql(
            UPDATE, {"input": {**update, "benefitType": "PERCENT_OFF"}}, token=token
        )
    )

    assert [(e["field"], e["code"]) for e in alone["userErrors"]] == [
        ("benefitType", "BAD_USER_INPUT")
    ]
    assert (typed["offer"]["benefitValue"], typed["offer"]["version"]) == ("30", 2)


async def test_an_unknown_tier_is_refused_before_any_resolver_runs(
    server: Server, world: World
) -> None:
    merchant = await _merchant(server)
    document = f"""
    mutation {{
      createOffer(input: {{
        merchantId: "{merchant}", title: "钛金专享", benefitType: PERCENT_OFF, benefitValue: 10,
        startsAt: "{_iso(utcnow())}", endsAt: "{_iso(utcnow() + timedelta(days=9))}",
        eligibleTiers: [TITANIUM]
      }}) {{ offer {{ id }} }}
    }}
    """
    body = await server.graphql(document, token=staff_token(server, world, "demo-marketer"))
    assert body["data"] is None
    # TITANIUM is a literal in the document: validation refuses it
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "TierCode" in body["errors"][0]["message"]


# --- the customer's side ---------------------------------------------------------------


async def test_targeting_reaches_only_eligible_consenting_customers(
    server: Server, world: World
) -> None:
    segment = _segment()
    offer = await _live_offer(server, world, segment)
    reached = await _customer(server, world, segment, consent=Consent(email=True))
    silent = await _customer(server, world, segment, consent=Consent())
    elsewhere = await _customer(server, world, _segment())

    result = await _target(server, world, offer)
    again = await _target(server, world, offer)

    assert (result["targeted"], result["skippedOverQuota"], result["userErrors"]) == (1, 0, [])
    assert (again["targeted"], again["skippedOverQuota"]) == (0, 0)
    assert (await _my_offers(server, reached))["totalCount"] == 1
    assert (await _my_offers(server, silent))["totalCount"] == 0
    assert (await _my_offers(server, elsewhere))["totalCount"] == 0


async def test_a_customer_views_and_accepts_and_then_sees_the_code(
    server: Server, world: World
) -> None:
    segment = _segment()
    offer = await _live_offer(server, world, segment, title="咖啡八折")
    customer = await _customer(server, world, segment)
    await _target(server, world, offer)
    token = customer_token(server, customer)

    (edge,) = (await _my_offers(server, customer))["edges"]
    targeted = edge["node"]
    assert (targeted["status"], targeted["redemptionCode"]) == ("TARGETED", None)
    assert targeted["offer"]["title"] == "咖啡八折"
    assert targeted["offer"]["merchantName"] == "测试商户"
    variables = {"input": {"assignmentId": targeted["id"]}}

    viewed = _payload(await server.graphql(VIEW, variables, token=token))["assignment"]
    viewed_again = _payload(await server.graphql(VIEW, variables, token=token))["assignment"]
    accepted = _payload(await server.graphql(ACCEPT, variables, token=token))
    accepted_again = _payload(await server.graphql(ACCEPT, variables, token=token))

    assert viewed["status"] == "VIEWED"
    assert viewed_again["viewedAt"] == viewed["viewedAt"]
    assert accepted["userErrors"] == []
    code = accepted["assignment"]["redemptionCode"]
    assert CODE_SHAPE.match(code), code
    assert accepted["assignment"]["status"] == "ACCEPTED"
    assert accepted_again["assignment"]["redemptionCode"] == code  # no second code
    (after,) = (await _my_offers(server, customer, "ACCEPTED"))["edges"]
    assert after["node"]["redemptionCode"] == code
    assert (await _my_offers(server, customer, "TARGETED"))["totalCount"] == 0


async def test_the_code_is_sealed_at_rest_and_found_by_its_blind_index(
    server: Server, world: World
) -> None:
    segment = _segment()
    offer = await _live_offer(server, world, segment)
    customer = await _customer(server, world, segment)
    await _target(server, world, offer)
    (edge,) = (await _my_offers(server, customer))["edges"]
    accepted = _payload(
        await server.graphql(
            ACCEPT,
            {"input": {"assignmentId": edge["node"]["id"]}},
            token=customer_token(server, customer),
        )
    )
    code = accepted["assignment"]["redemptionCode"]

    async with server.state.database.session() as session:
        row = await session.get(OfferAssignment, uuid.UUID(_raw_id(edge["node"]["id"])))
    assert row is not None
    assert row.code_enc is not None
    assert code.encode() not in row.code_enc
    assert code.replace("-", "").encode() not in row.code_enc
    assert row.code_bidx == code_index(server.state.key_ring, code.lower())


def _raw_id(global_id: str) -> str:
    import base64

    return base64.b64decode(global_id).decode().split(":", 1)[1]


async def test_another_customers_assignment_is_not_found(server: Server, world: World) -> None:
    segment = _segment()
    offer = await _live_offer(server, world, segment)
    owner = await _customer(server, world, segment)
    other = await _customer(server, world, segment)
    await _target(server, world, offer)
    (edge,) = (await _my_offers(server, owner))["edges"]
    variables = {"input": {"assignmentId": edge["node"]["id"]}}

    for query in (VIEW, ACCEPT):
        payload = _payload(
            await server.graphql(query, variables, token=customer_token(server, other))
        )
        assert payload["assignment"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            ("assignmentId", "NOT_FOUND")
        ]
    node = await server.graphql(
        "query N($id: ID!) { node(id: $id) { id } }",
        {"id": edge["node"]["id"]},
        token=customer_token(server, other),
    )
    assert node["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_staff_may_not_accept_for_a_customer(server: Server, world: World) -> None:
    segment = _segment()
    offer = await _live_offer(server, world, segment)
    customer = await _customer(server, world, segment)
    await _target(server, world, offer)
    (edge,) = (await _my_offers(server, customer))["edges"]
    payload = _payload(
        await server.graphql(
            ACCEPT,
            {"input": {"assignmentId": edge["node"]["id"]}},
            token=staff_token(server, world, "demo-agent"),
        )
    )
    assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]


@pytest.mark.parametrize("role", ["supervisor", "agent", "marketer", "admin", "auditor"])
async def test_staff_see_a_customers_offers_but_never_the_code(
    server: Server, world: World, role: str
) -> None:
    segment = _segment()
    offer = await _live_offer(server, world, segment, title="员工看得到")
    customer = await _customer(server, world, segment)
    await _target(server, world, offer)
    (edge,) = (await _my_offers(server, customer))["edges"]
    await server.graphql(
        ACCEPT,
        {"input": {"assignmentId": edge["node"]["id"]}},
        token=customer_token(server, customer),
    )

    body = await server.graphql(
        CUSTOMER_OFFERS,
        {"id": to_global_id("Customer", customer)},
        token=staff_token(server, world, STAFF[role]),
    )

    (seen,) = body["data"]["customer"]["offers"]["edges"]
    assert seen["node"]["offer"]["title"] == "员工看得到"
    assert (seen["node"]["status"], seen["node"]["redemptionCode"]) == ("ACCEPTED", None)
    forbidden = [e["path"] for e in body["errors"] if e["extensions"]["code"] == "FORBIDDEN"]
    assert forbidden == [["customer", "offers", "edges", 0, "node", "redemptionCode"]]


async def test_an_agent_of_another_branch_does_not_find_the_assignment(
    server: Server, world: World
) -> None:
    segment = _segment()
    offer = await _live_offer(server, world, segment)
    customer = await _customer(server, world, segment, branch="BJ-CY")
    await _target(server, world, offer)
    (edge,) = (await _my_offers(server, customer))["edges"]
    body = await server.graphql(
        "query N($id: ID!) { node(id: $id) { id } }",
        {"id": edge["node"]["id"]},
        token=staff_token(server, world, "demo-agent-b"),
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_paused_offer_cannot_be_accepted(server: Server, world: World) -> None:
    segment = _segment()
    offer = await _live_offer(server, world, segment)
    customer = await _customer(server, world, segment)
    await _target(server, world, offer)
    await _act(server, world, "pauseOffer", offer)
    (edge,) = (await _my_offers(server, customer))["edges"]
    payload = _payload(
        await server.graphql(
            ACCEPT,
            {"input": {"assignmentId": edge["node"]["id"]}},
            token=customer_token(server, customer),
        )
    )
    assert [(e["code"], e["message"]) for e in payload["userErrors"]] == [
        ("CONFLICT", "this offer is paused; it cannot be accepted now")
    ]


async def test_an_expired_offer_cannot_be_accepted_and_its_assignment_shows_expired(
    server: Server, world: World
) -> None:
    segment = _segment()
    offer = await _live_offer(server, world, segment)
    customer = await _customer(server, world, segment)
    await _target(server, world, offer)
    current = (await _act(server, world, "pauseOffer", offer))["offer"]
    await _act(server, world, "expireOffer", current)
    (edge,) = (await _my_offers(server, customer))["edges"]
    assert edge["node"]["status"] == "EXPIRED"
    assert edge["node"]["offer"]["status"] == "EXPIRED"
    payload = _payload(
        await server.graphql(
            ACCEPT,
            {"input": {"assignmentId": edge["node"]["id"]}},
            token=customer_token(server, customer),
        )
    )
    assert payload["userErrors"][0]["message"] == "this offer is expired; it cannot be accepted now"


# --- recommendations ---------------------------------------------------------------------


async def test_recommendations_rank_eligible_offers_by_spend_affinity(
    server: Server, world: World
) -> None:
    segment = _segment()
    travel = await _live_offer(server, world, segment, title="旅行", category="TRAVEL")
    dining = await _live_offer(server, world, segment, title="餐饮", category="DINING")
    fuel = await _live_offer(server, world, segment, title="加油", category="FUEL")
    big_spenders = await _live_offer(
        server, world, segment, title="大额", category="DINING", minSpend="100000.00"
    )
    customer = await _customer(
        server, world, segment, spend={"dining": 6_000, "travel": 3_000, "grocery": 1_000}
    )
    await _target(server, world, dining)

    body = await server.graphql(MY_RECOMMENDATIONS, token=customer_token(server, customer))

    assert "errors" not in body, body
    mine = {travel["id"], dining["id"], fuel["id"], big_spenders["id"]}
    ranked = [r for r in body["data"]["me"]["recommendedOffers"] if r["offer"]["offerId"] in mine]
    assert [(r["offer"]["title"], r["affinity"]) for r in ranked] == [
        ("餐饮", 0.6),
        ("旅行", 0.3),
        ("加油", 0.0),
    ]
    assert ranked[0]["assignmentId"] is not None  # targeted: the app can accept it
    assert ranked[1]["assignmentId"] is None


async def test_a_redeemed_offer_is_no_longer_recommended(server: Server, world: World) -> None:
    segment = _segment()
    offer = await _live_offer(server, world, segment)
    customer = await _customer(server, world, segment)
    await _target(server, world, offer)
    async with server.state.database.session() as session:
        await session.execute(
            update(OfferAssignment)
            .where(OfferAssignment.customer_id == customer)  # type: ignore[arg-type]
            .values(status="redeemed", redeemed_at=utcnow())
        )
        await session.commit()
    body = await server.graphql(MY_RECOMMENDATIONS, token=customer_token(server, customer))
    offered = {r["offer"]["offerId"] for r in body["data"]["me"]["recommendedOffers"]}
    assert offer["id"] not in offered


async def test_recommendations_cost_the_same_statements_for_any_page_of_customers(
    server: Server, world: World
) -> None:
    segment = _segment()
    for title in ("一", "二", "三"):
        await _live_offer(server, world, segment, title=title)
    for _ in range(6):
        await _customer(server, world, segment, spend={"dining": 500})
    query = """
    query Page($first: Int!) {
      customers(first: $first) { edges { node {
        id recommendedOffers(first: 3) { affinity offer { title merchantName } }
        offers(first: 2) { totalCount edges { node { status offer { title merchantName } } } }
      } } }
    }
    """
    # An admin pages through every branch's customers (a marketer has no customer list).
    token = staff_token(server, world, "demo-admin")
    counts = []
    for first in (1, 3, 9):
        body, statements = await server.count_statements(query, {"first": first}, token=token)
        assert "errors" not in body, body
        assert len(body["data"]["customers"]["edges"]) == first
        counts.append(statements)
    # the page 1, recommendations 3 (live offers with their fill, profiles, held
    # assignments), offers 2 (pages, counts): the same for one customer as for nine
    assert counts == [6, 6, 6]
