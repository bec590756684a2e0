"""A field the caller may not see is null with FORBIDDEN at its path, and the rest arrives.

The fields are read from their declarations: every query or relation field of the live schema
declared with ``scoped_field`` (the token scope, or staff token, it needs) and every row of the policy table
(``auth.policy.RULES``). For each, every role whose scopes lack it (or whom the policy
denies it) and who can reach the field's parent (``PARENTS``) asks for it next to the
parent's ``id``; the answer must carry the parent, null at the field and exactly one FORBIDDEN
error at its path — from the compiled executor and the standard one alike. A declared field
no denied role can reach at all (its parent needs the very scope it lacks) is listed in
``UNREACHABLE_WHEN_DENIED``, and the list must be exactly those, so a field added tomorrow
is either covered or explained here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from graphql import GraphQLObjectType, is_non_null_type
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from api.graphql_schema import schema as live_schema
from auth.policy import RULES, Access
from auth.scopes import ROLE_SCOPES
from core.identity import STAFF_ROLES, Role, Scope
from schema.relay import to_global_id
from schema.scope_field import ScopeExtension
from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF, World
from tests.support_alerts import add_alert
from tests.support_offers import accept_offer, add_merchant, add_offer, merchant_token

ROLES = {**{name: Role(name) for name in DEMO_STAFF}, "customer": Role.CUSTOMER}
ROLES["merchant"] = Role.MERCHANT


@dataclass(frozen=True)
class Parent:
    """How a role reaches an object of one type: the document around ``{field}`` (with the
    parent's ``id``), the path to the parent, and the scopes the way there needs."""

    document: str
    path: tuple[str | int, ...]
    needs: frozenset[Scope] = frozenset()


ALICE = "customer(id: $alice) {{ id {inner} }}"
ME = "me {{ id {inner} }}"
COMPLAINTS = "complaints(first: 1) {{ edges {{ node {{ id {inner} }} }} }}"
ONE_COMPLAINT = ("complaints", "edges", 0, "node")
STAFF_PARENTS: dict[str, Parent] = {
    "Customer": Parent(ALICE.format(inner="{field}"), ("customer",)),
    "Card": Parent(ALICE.format(inner="cards { id {field} }"), ("customer", "cards", 0)),
    "OfferAssignment": Parent(
        ALICE.format(inner="offers(first: 1) { edges { node { id {field} } } }"),
        ("customer", "offers", "edges", 0, "node"),
        frozenset({Scope.OFFERS_READ}),
    ),
    "Complaint": Parent(
        COMPLAINTS.format(inner="{field}"), ONE_COMPLAINT, frozenset({Scope.COMPLAINTS_READ})
    ),
    "ComplaintTimelineEntry": Parent(
        COMPLAINTS.format(inner="timeline { action {field} }"),
        (*ONE_COMPLAINT, "timeline", 0),
        frozenset({Scope.COMPLAINTS_READ}),
    ),
    "Interaction": Parent(
        "interactions(first: 1) { edges { node { id {field} } } }",
        ("interactions", "edges", 0, "node"),
        frozenset({Scope.INTERACTIONS_READ}),
    ),
    # `analytics` needs a staff token only; each figure declares its own scope.
    "Analytics": Parent("analytics { __typename {field} }", ("analytics",)),
}
CUSTOMER_PARENTS: dict[str, Parent] = {
    **{key: STAFF_PARENTS[key] for key in ("Complaint", "ComplaintTimelineEntry", "Interaction")},
    "Customer": Parent(ME.format(inner="{field}"), ("me",)),
    "Card": Parent(ME.format(inner="cards { id {field} }"), ("me", "cards", 0)),
    "OfferAssignment": Parent(
        ME.format(inner="offers(first: 1) { edges { node { id {field} } } }"),
        ("me", "offers", "edges", 0, "node"),
        frozenset({Scope.OFFERS_READ}),
    ),
    "RiskAlert": Parent(
        ME.format(inner="riskAlerts(first: 1) { id {field} }"),
        ("me", "riskAlerts", 0),
        frozenset({Scope.CARDS_READ}),
    ),
}
MERCHANT_PARENTS = {
    "MerchantOffer": Parent(
        "merchantOffers(first: 1) { edges { node { id {field} } } }",
        ("merchantOffers", "edges", 0, "node"),
        frozenset({Scope.OFFERS_READ}),
    )
}
# Arguments for root fields that require some; `$alice` is Alice's customer ID (for
# `complaint` and `offer` too: the scope is refused before the ID is read).
ROOT_ARGUMENTS = {
    "customer": "(id: $alice)",
    "complaint": "(id: $alice)",
    "offer": "(id: $alice)",
    "campaign": "(id: $alice)",
    "customerByPhone": '(phone: "13812345678")',
    "customerByIdNumber": '(idNumber: "110101199003071233")',
    "merchantStats": '(range: {from: "2025-03-01", to: "2025-03-02"})',
}
# Arguments for fields below the root that require some.
FIELD_ARGUMENTS = {
    **{
        ("Analytics", name): '(range: {from: "2025-03-01T00:00:00Z", to: "2025-03-02T00:00:00Z"})'
        for name in ("risk", "service", "growth", "staff")
    },
}
UNREACHABLE_WHEN_DENIED = {
    # A staff account's sign-in state: denied to the roles staffAccounts refuses outright.
    ("StaffAccount", "lockedUntil"),
    ("StaffAccount", "mustChangePassword"),
    ("StaffAccount", "passwordChangedAt"),
    # Denied only to merchants and service accounts, which reach no customer at all.
    ("Customer", "name"),
    ("Customer", "phone"),
    ("Customer", "email"),
    ("Customer", "birthDate"),
    # Complaint free text: denied to marketers and risk officers, who list no complaints.
    ("Complaint", "description"),
    ("Complaint", "resolution"),
    ("ComplaintTimelineEntry", "note"),
    # A card's history needs cards:read, which every role the reason is denied to lacks.
    ("CardHistoryEntry", "reason"),
    # Credit-limit free text: denied to marketers, merchants and service accounts, who hold no
    # cards:read and so reach no credit-limit request or change.
    ("CreditLimitRequest", "reason"),
    ("CreditLimitRequest", "decisionReason"),
    ("CreditLimitChange", "note"),
    # Only in redeemOffer's payload (a mutation), to merchants.
    ("Redemption", "customerName"),
    # Every merchant token that lists its offers holds offers:read.
    ("MerchantOffer", "figures"),
    # Spending: denied to marketers and merchants, who hold no cards:read, the scope of the
    # transaction lists that lead to it (Customer.transactions, Card.transactions).
    ("Transaction", "amount"),
    ("Transaction", "merchantName"),
    # An override's reason: denied to exactly the roles denied Customer.riskGradeHistory,
    # the only way to it.
    ("RiskGradeChange", "note"),
    # The collection queue: denied to marketers, customers and merchants, who hold no
    # collections:read, the scope of the lists that lead to them (collectionCases,
    # repaymentReminders).
    ("CollectionCase", "overdueAmount"),
    ("CollectionCase", "promiseAmount"),
    ("CollectionContact", "promiseAmount"),
    ("CollectionContact", "notes"),
    ("RepaymentReminder", "minimumPayment"),
    # A risk alert's figures: denied to agents, marketers and merchants, who list no alerts
    # (riskAlerts needs risk:read; Customer.riskAlerts shows staff without it none).
    ("RiskAlert", "amount"),
    ("RiskAlert", "details"),
    # A task's reasons and offers: denied to marketers, risk officers, customers and
    # merchants, who hold no tasks:read, the scope of the lists that lead to them (myTasks,
    # tasks).
    ("Task", "reasons"),
    ("Task", "offerIds"),
    # A survey's comment: denied to marketers, risk officers and merchants, who hold no
    # surveys:read, the scope of Customer.surveys, the only way to a staff reader
    # (mySurveys is the customer's own).
    ("Survey", "comment"),
    # A campaign's results: denied to agents, risk officers, customers and merchants, who
    # hold no campaigns:read, the scope of campaigns and campaign, the only ways to one.
    ("Campaign", "results"),
    # A webhook subscription: denied to every role but admins and service accounts, who are
    # also the only holders of events:subscribe, the scope of webhookSubscriptions.
    ("WebhookSubscription", "url"),
    ("WebhookSubscription", "lastError"),
}


def _parents(role: str) -> dict[str, Parent]:
    if role == "customer":
        return CUSTOMER_PARENTS
    return MERCHANT_PARENTS if role == "merchant" else STAFF_PARENTS


def _declared() -> dict[tuple[str, str], dict[str, bool]]:
    """Every declared field and, per role, whether that role is denied it."""
    declared: dict[tuple[str, str], dict[str, bool]] = {}
    schema = live_schema._schema
    for type_name, kind in schema.type_map.items():
        if not isinstance(kind, GraphQLObjectType) or type_name.startswith("__"):
            continue
        if type_name in ("Mutation", "Subscription"):  # tests/schema/test_declared_scopes.py
            continue
        for name, definition in kind.fields.items():
            field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            assert isinstance(field, StrawberryField)
            for extension in field.extensions:
                if isinstance(extension, ScopeExtension):
                    needs = extension.needs
                    declared[(type_name, name)] = {
                        role: (needs.scope is not None and needs.scope not in ROLE_SCOPES[kind_])
                        or (needs.staff_only and kind_ not in STAFF_ROLES)
                        for role, kind_ in ROLES.items()
                    }
    for rule in RULES:
        declared[(rule.type_name, rule.field_name)] = {
            role: rule.scope not in ROLE_SCOPES[kind_]
            or rule.access.get(kind_, Access.DENIED) is Access.DENIED
            for role, kind_ in ROLES.items()
        }
    return declared


def _reaches(role: str, type_name: str) -> bool:
    if type_name == "Query":
        return True
    parent = _parents(role).get(type_name)
    return parent is not None and parent.needs <= ROLE_SCOPES[ROLES[role]]


def _cases() -> list[tuple[str, str, str]]:
    return [
        (type_name, field, role)
        for (type_name, field), denied in sorted(_declared().items())
        for role in ROLES
        if denied[role] and _reaches(role, type_name)
    ]


def _selection(type_name: str, field: str) -> str:
    definition = live_schema._schema.type_map[type_name].fields[field]  # type: ignore[union-attr]
    named = definition.type
    while hasattr(named, "of_type"):
        named = named.of_type
    return "" if not isinstance(named, GraphQLObjectType) else "{ __typename }"


def _document(type_name: str, field: str, role: str) -> tuple[str, tuple[str | int, ...]]:
    arguments = (
        ROOT_ARGUMENTS.get(field, "")
        if type_name == "Query"
        else FIELD_ARGUMENTS.get((type_name, field), "")
    )
    asked = f"{field}{arguments}"
    asked += " " + _selection(type_name, field)
    if type_name == "Query":
        body, path = f"__typename {asked}", ()
    else:
        parent = _parents(role)[type_name]
        body, path = parent.document.replace("{field}", asked), parent.path
    header = "query Q($alice: ID!)" if "$alice" in body else "query Q"
    return f"{header} {{ {body} }}", path


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


@pytest.fixture(scope="module")
async def tokens(server: Server, world: World) -> dict[str, str]:
    """A token per role; Alice has a complaint, an interaction, an accepted offer and a risk
    alert."""
    alice = customer_token(server, world.alice.id)
    filed = await server.graphql(
        "mutation($i: FileComplaintInput!) { fileComplaint(input: $i) { userErrors { code } } }",
        {"i": {"description": "积分没到账", "category": "REWARDS"}},
        token=alice,
    )
    assert filed["data"]["fileComplaint"]["userErrors"] == [], filed
    logged = await server.graphql(
        "mutation($i: LogInteractionInput!) { logInteraction(input: $i) { userErrors { code } } }",
        {
            "i": {
                "customerId": to_global_id("Customer", world.alice.id),
                "channel": "PHONE",
                "direction": "INBOUND",
                "kind": "SERVICE",
                "subject": "积分",
            }
        },
        token=staff_token(server, world, "demo-agent"),
    )
    assert logged["data"]["logInteraction"]["userErrors"] == [], logged
    await add_alert(server.state, world.alice.id)
    merchant = await add_merchant(server.state, "范围商户")
    await accept_offer(server.state, await add_offer(server.state, merchant), world.alice.id)
    return {
        **{role: staff_token(server, world, name) for role, name in DEMO_STAFF.items()},
        "customer": alice,
        "merchant": merchant_token(server.state, merchant),
    }


def _without_request_ids(body: Any) -> Any:
    for error in body.get("errors", []):
        error.get("extensions", {}).pop("requestId", None)
    return body


def test_every_declared_field_is_asked_for_or_explained() -> None:
    covered = {(type_name, field) for type_name, field, _ in _cases()}
    assert set(_declared()) - covered == UNREACHABLE_WHEN_DENIED
    assert ("Customer", "interactions", "marketer") in _cases()
    assert ("Customer", "interactions", "risk_officer") in _cases()


@pytest.mark.parametrize(("type_name", "field", "role"), _cases())
async def test_a_field_the_caller_may_not_see_is_forbidden_at_its_path_and_the_rest_arrives(
    server: Server,
    standard: Server,
    world: World,
    tokens: dict[str, str],
    type_name: str,
    field: str,
    role: str,
) -> None:
    document, parent_path = _document(type_name, field, role)
    variables = {"alice": to_global_id("Customer", world.alice.id)} if "$alice" in document else {}

    body = await server.graphql(document, variables, token=tokens[role])
    reference = await standard.graphql(document, variables, token=tokens[role])

    assert _without_request_ids(body) == _without_request_ids(reference)
    definition = live_schema._schema.type_map[type_name].fields[field]  # type: ignore[union-attr]
    if is_non_null_type(definition.type):  # `merchantOffers`: the null reaches `data`
        assert body["data"] is None, (document, body)
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
            ("FORBIDDEN", [*parent_path, field])
        ], (document, body)
        return
    assert body["data"] is not None, (document, body)
    parent = _at(body["data"], parent_path)
    assert parent.get("id") or parent.get("action") or parent.get("__typename"), body
    assert parent[field] is None, body
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
        ("FORBIDDEN", [*parent_path, field])
    ], (document, body)
