"""A merchant token reaches its own offers, redemptions and statistics and nothing else.

The root fields are read from the live schema, so a field added tomorrow is covered without
editing this file: every Query and Mutation field except the merchant's own (the allow-list
below) is called with a merchant token holding every merchant scope, with arguments that
point at real records (Alice, her card, another merchant's offer and code…), and must answer
with FORBIDDEN (as a GraphQL error or a userError) and no data at all, as the README says:
a merchant token is refused on staff fields, not shown an empty list. Arguments are made from each argument's type; an ID argument's type comes
from its name (``customerId`` → Customer) or, for a bare ``id``, from the field's name
(``acknowledgeComplaint`` → Complaint). A field the generator cannot fill fails loudly.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Undefined,
    build_schema,
    get_named_type,
    is_leaf_type,
)
from sqlalchemy import select

from api.graphql_schema import schema as live_schema
from core.identity import Role, Scope
from models.growth.tier import Tier
from models.merchants.merchant import OAuthClient
from models.service_desk.complaint import Complaint
from models.service_desk.interaction import Interaction
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.support import ALICE, World
from tests.support_offers import (
    accept_offer,
    add_merchant,
    add_offer,
    customer_ids,
    merchant_token,
)

MERCHANT_FIELDS = frozenset({"merchantOffers", "merchantStats", "redeemOffer"})
REFUSALS = frozenset({"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"})
# Root fields for every kind of caller, not staff's: `node` answers a merchant's own objects
# (its offers) and NOT_FOUND for anyone else's (test_node_finds_no_record_of_others).
NOT_STAFF_FIELDS = frozenset({"node"})
# Optional arguments of which a field needs one (customersByName: phoneLast4 | cardLast4).
ONE_OF_ARGUMENTS = frozenset({"phoneLast4"})
# Object nesting a selection goes into (the query-token limit bounds a request's size).
MAX_DEPTH = 2
# The record type a bare or suffixed ID argument names, longest type names first.
ID_TYPES = (
    "OfferAssignment",
    "Interaction",
    "Complaint",
    "Customer",
    "Merchant",
    "StaffMember",
    "Branch",
    "Offer",
    "Tier",
    "Card",
)
ID_ARGUMENTS = {
    "assigneeId": "StaffMember",
    "staffId": "StaffMember",
    "assignmentId": "OfferAssignment",
    "requestId": "CreditLimitRequest",
    "caseId": "CollectionCase",
    "alertId": "RiskAlert",
    "rewardId": "Reward",
    "taskId": "Task",
    "surveyId": "Survey",
    "campaignId": "Campaign",
}
# Root fields whose `id` names a type their own name does not spell.
ID_FIELDS = {
    "updateSegment": "SavedSegment",
    "deleteSegment": "SavedSegment",
    "campaign": "Campaign",
    "deleteWebhookSubscription": "WebhookSubscription",
    "replayWebhookSubscription": "WebhookSubscription",
}


class Enum(str):
    """An enum value: written bare in a GraphQL document."""


@dataclass
class Records:
    """Global IDs of real records of every type, none of them the caller's."""

    ids: dict[str, str]
    texts: dict[str, str]


def _schema() -> GraphQLSchema:
    return build_schema(live_schema.as_str())


def _literal(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return json.dumps(value)


def _id_type(argument: str, field: str) -> str:
    if field == "node":
        return "Customer"  # every other record type: test_node_finds_no_record_of_others
    if argument in ID_ARGUMENTS:
        return ID_ARGUMENTS[argument]
    named = argument[: -len("Id")] if argument.endswith("Id") else ""
    for type_name in ID_TYPES:
        if named and type_name.lower() == named.lower():
            return type_name
    if argument == "id" and field in ID_FIELDS:
        return ID_FIELDS[field]
    if argument == "id":
        for type_name in ID_TYPES:
            if type_name in field[0].upper() + field[1:]:
                return type_name
    raise AssertionError(f"{field}({argument}): add the ID's record type to ID_ARGUMENTS")


def _value(kind: GraphQLInputType, argument: str, field: str, records: Records) -> Any:
    if isinstance(kind, GraphQLNonNull):
        return _value(kind.of_type, argument, field, records)
    if isinstance(kind, GraphQLList):
        return [_value(kind.of_type, argument, field, records)]
    if isinstance(kind, GraphQLEnumType):
        return Enum(next(iter(kind.values)))
    if isinstance(kind, GraphQLInputObjectType):
        return {
            name: _value(f.type, name, field, records)
            for name, f in kind.fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        }
    scalars: dict[str, Any] = {
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "Decimal": "100.00",
        "DateTime": "2025-01-01T00:00:00+00:00",
        "Date": "2025-01-01",
        "JSON": {},
    }
    name = getattr(kind, "name", "")
    if argument == "to" and name in ("DateTime", "Date"):  # ranges end after they start
        return {"DateTime": "2025-02-01T00:00:00+00:00", "Date": "2025-02-01"}[name]
    if name == "ID":
        return records.ids[_id_type(argument, field)]
    if name == "String":
        return records.texts.get(argument, "a merchant must not get this far")
    assert name in scalars, f"{field}({argument}): no test value for scalar {name}"
    return scalars[name]


def _arguments(field: GraphQLField, name: str, records: Records) -> str:
    required = {
        argument: _value(arg.type, argument, name, records)
        for argument, arg in field.args.items()
        if (isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined)
        or argument in ONE_OF_ARGUMENTS
    }
    if not required:
        return ""
    return "(" + ", ".join(f"{k}: {_literal(v)}" for k, v in required.items()) + ")"


def _selection(kind: GraphQLOutputType, records: Records, depth: int = 0) -> str:
    """Every leaf field of the type, and of its object fields down to MAX_DEPTH."""
    named: GraphQLNamedType = get_named_type(kind)
    if is_leaf_type(named):
        return ""
    if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        return "{ __typename }"
    parts = ["__typename"]
    for name, field in named.fields.items():
        inner = get_named_type(field.type)
        if is_leaf_type(inner):
            parts.append(name + _arguments(field, name, records))
        elif depth < MAX_DEPTH:
            sub = _selection(field.type, records, depth + 1)
            parts.append(f"{name}{_arguments(field, name, records)} {sub}")
    return "{ " + " ".join(parts) + " }"


def _operation(kind: str, name: str, field: GraphQLField, records: Records) -> str:
    return (
        f"{kind} {{ {name}{_arguments(field, name, records)} {_selection(field.type, records)} }}"
    )


def _leaks(value: Any, path: str) -> list[str]:
    """Every leaf that carries something: any value but null, false, 0, "" and []."""
    if isinstance(value, dict):
        return [
            leak
            for key, inner in value.items()
            if key not in ("__typename", "userErrors")
            for leak in _leaks(inner, f"{path}.{key}")
        ]
    if isinstance(value, list):
        return [leak for i, inner in enumerate(value) for leak in _leaks(inner, f"{path}[{i}]")]
    if value in (None, False, 0, ""):
        return []
    return [f"{path} = {value!r}"]


def _codes(body: dict[str, Any]) -> list[str]:
    codes = [error["extensions"]["code"] for error in body.get("errors", [])]

    def user_errors(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "userErrors":
                    codes.extend(error["code"] for error in inner)
                else:
                    user_errors(inner)
        elif isinstance(value, list):
            for inner in value:
                user_errors(inner)

    user_errors(body.get("data"))
    return codes


def _root_fields() -> list[tuple[str, str]]:
    schema = _schema()
    roots = [("query", schema.query_type), ("mutation", schema.mutation_type)]
    return [
        (kind, name)
        for kind, root in roots
        if root is not None
        for name in root.fields
        if name not in MERCHANT_FIELDS
    ]


@pytest.fixture(scope="module")
async def records(server: Server, world: World) -> Records:
    """Real records of others: Alice and her card, another merchant's offer and Alice's
    accepted assignment of it (with its code), a complaint, an interaction, staff…"""
    other = await add_merchant(server.state, "别家商户")
    offer = await add_offer(server.state, other)
    accepted = await accept_offer(server.state, offer, world.alice.id)
    async with server.state.database.session() as session:
        complaint = (await session.scalars(select(Complaint.id).limit(1))).one()
        interaction = (await session.scalars(select(Interaction.id).limit(1))).one()
        tier = (await session.scalars(select(Tier.id).limit(1))).one()
    raw: dict[str, uuid.UUID] = {
        "Customer": world.alice.id,
        "Card": world.alice.card_ids[0],
        "Offer": offer.id,
        "OfferAssignment": accepted.assignment_id,
        "Merchant": other.id,
        "Complaint": complaint,
        "Interaction": interaction,
        "Tier": tier,
        "StaffMember": world.staff["demo-agent"].id,
        "Branch": world.branches["BJ-CY"].id,
        # Refused before it is read: any credit-limit request's ID will do.
        "CreditLimitRequest": uuid.uuid4(),
        "SavedSegment": uuid.uuid4(),
        "CollectionCase": uuid.uuid4(),
        "RiskAlert": uuid.uuid4(),
        "Reward": uuid.uuid4(),
        "Task": uuid.uuid4(),
        "Survey": uuid.uuid4(),
        "Campaign": uuid.uuid4(),
        "WebhookSubscription": uuid.uuid4(),
    }
    return Records(
        ids={type_name: to_global_id(type_name, value) for type_name, value in raw.items()},
        texts={
            "phone": ALICE.phone,
            "phoneLast4": ALICE.phone[-4:],
            "idNumber": ALICE.id_number,
            "code": accepted.code,
            "purpose": "verify the caller's identity for ticket 4711",
        },
    )


@pytest.fixture(scope="module")
async def token(server: Server) -> str:
    merchant = await add_merchant(server.state, "本家商户")
    return merchant_token(server.state, merchant, frozenset(Scope))


def test_the_enumeration_covers_every_root_field_but_the_merchants_own() -> None:
    fields = {name for _, name in _root_fields()}
    assert {"node", "customers", "me", "viewer", "tiers", "createCustomer"} <= fields
    assert not fields & MERCHANT_FIELDS
    schema = _schema()
    assert schema.query_type is not None
    assert schema.mutation_type is not None
    assert set(schema.query_type.fields) | set(schema.mutation_type.fields) >= MERCHANT_FIELDS


@pytest.mark.parametrize(("kind", "name"), _root_fields())
async def test_a_merchant_token_is_refused_by_every_other_root_field(
    server: Server, records: Records, token: str, kind: str, name: str
) -> None:
    schema = _schema()
    root = schema.query_type if kind == "query" else schema.mutation_type
    assert root is not None
    document = _operation(kind, name, root.fields[name], records)

    body = await server.graphql(document, token=token)

    codes = _codes(body)
    assert not _leaks(body.get("data"), "data"), (document, body)
    assert codes, f"{name} answered without refusing: {body}"
    expected = REFUSALS if name in NOT_STAFF_FIELDS else {"FORBIDDEN"}
    assert set(codes) <= expected, (document, body)


@pytest.mark.parametrize("name", [name for kind, name in _root_fields() if kind == "query"])
async def test_the_generated_queries_are_well_formed_for_a_caller_entitled_to_them(
    server: Server, world: World, records: Records, name: str
) -> None:
    # Guards the test above against passing vacuously: the same documents, sent by an admin,
    # are valid requests (no BAD_USER_INPUT, no complexity refusal). Queries only: an admin's
    # mutations would change the shared data.
    schema = _schema()
    assert schema.query_type is not None
    document = _operation("query", name, schema.query_type.fields[name], records)

    body = await server.graphql(document, token=staff_token(server, world, "demo-admin"))

    assert set(_codes(body)) <= REFUSALS, (document, body)


NODE = "query Node($id: ID!) { node(id: $id) { __typename id } }"


@pytest.mark.parametrize(
    "type_name",
    [
        "Customer",
        "Card",
        "Offer",
        "OfferAssignment",
        "Merchant",
        "Complaint",
        "Interaction",
        "Tier",
        "StaffMember",
        "Branch",
    ],
)
async def test_node_finds_no_record_of_others(
    server: Server, records: Records, token: str, type_name: str
) -> None:
    body = await server.graphql(NODE, {"id": records.ids[type_name]}, token=token)

    assert body["data"] == {"node": None}
    assert [error["extensions"]["code"] for error in body["errors"]] == ["NOT_FOUND"]


MERCHANT_OFFERS = "{ merchantOffers { totalCount edges { node { title } } } }"
MERCHANT_STATS = '{ merchantStats(range: {from: "2025-01-01", to: "2025-01-02"}) { timeZone } }'
REDEEM = """
mutation Redeem($input: RedeemOfferInput!) {
  redeemOffer(input: $input) { redemption { pseudonym } userErrors { field code message } }
}
"""


async def test_a_token_with_only_offers_read_cannot_redeem(
    server: Server, records: Records
) -> None:
    merchant = await add_merchant(server.state)
    offer = await add_offer(server.state, merchant)
    accepted = await accept_offer(server.state, offer, (await customer_ids(server.state, 1))[0])
    token = merchant_token(server.state, merchant, frozenset({Scope.OFFERS_READ}))

    body = await server.graphql(
        REDEEM, {"input": {"code": accepted.code, "amount": "100.00"}}, token=token
    )

    payload = body["data"]["redeemOffer"]
    assert payload["redemption"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]
    listed = await server.graphql(MERCHANT_OFFERS, token=token)
    assert listed["data"]["merchantOffers"]["totalCount"] == 1


async def test_a_token_with_only_offers_redeem_cannot_list_offers_or_read_stats(
    server: Server, records: Records
) -> None:
    merchant = await add_merchant(server.state)
    await add_offer(server.state, merchant)
    token = merchant_token(server.state, merchant, frozenset({Scope.OFFERS_REDEEM}))

    for query, field in ((MERCHANT_OFFERS, "merchantOffers"), (MERCHANT_STATS, "merchantStats")):
        body = await server.graphql(query, token=token)
        assert body["data"] is None, body
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
            ("FORBIDDEN", [field])
        ]


async def _service_token(server: Server) -> str:
    """A batch job's token (its client must exist: client tokens are checked for revocation)."""
    client_id = f"service-{uuid.uuid4().hex[:12]}"
    async with server.state.database.session() as session:
        session.add(
            OAuthClient(
                client_id=client_id,
                client_secret_hash="!unusable",
                name="test batch job",
                kind="service",
                allowed_scopes="transactions:write",
            )
        )
        await session.commit()
    return server.state.tokens.issue(subject=client_id, role=Role.SERVICE, client_id=client_id)


@pytest.mark.parametrize("who", ["demo-admin", "demo-marketer", "customer", "service"])
async def test_nobody_but_a_merchant_reaches_the_merchant_fields(
    server: Server, world: World, records: Records, who: str
) -> None:
    if who == "customer":
        token = customer_token(server, world.alice.id)
    elif who == "service":
        token = await _service_token(server)
    else:
        token = staff_token(server, world, who)

    for query, field in ((MERCHANT_OFFERS, "merchantOffers"), (MERCHANT_STATS, "merchantStats")):
        body = await server.graphql(query, token=token)
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
            ("FORBIDDEN", [field])
        ], body
    redeemed = await server.graphql(
        REDEEM, {"input": {"code": records.texts["code"], "amount": "100.00"}}, token=token
    )
    assert [e["code"] for e in redeemed["data"]["redeemOffer"]["userErrors"]] == ["FORBIDDEN"]
