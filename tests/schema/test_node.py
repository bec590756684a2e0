"""Every object a caller is shown with an ID can be refetched by that caller through
``node(id:)``, as Relay's and Apollo's caches do.

Each role sends the listing documents below (FORBIDDEN where it lacks a scope is fine: the rest
arrives); every ``{__typename, id}`` the answers hold is asked for again through ``node`` and
must come back as the same type and ID. The Node types are read from the live schema, and
each must be listed by the roles ``LISTED_BY`` names, so a Node type added tomorrow fails here
until some role's listing shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLInterfaceType, build_schema

from api.graphql_schema import schema as live_schema
from models.customers.segment import SavedSegment
from models.loyalty.reward import Reward
from models.outreach.campaign import Campaign
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF, World, add_oauth_client, client_credentials_token
from tests.support_offers import accept_offer, add_merchant, add_offer, merchant_token

NODE = "query Node($id: ID!) { node(id: $id) { __typename id } }"
IDS = "edges { node { __typename id } }"
CUSTOMER_360 = f"""
  __typename id branch {{ __typename id }} tier {{ __typename id }} cards {{ __typename id }}
  interactions(first: 5) {{ edges {{ node {{ __typename id staff {{ __typename id }} }} }} }}
  transactions(first: 5) {{ edges {{ node {{ __typename id card {{ __typename id }} }} }} }}
  offers(first: 5) {{ {IDS} }}
  complaints(first: 5) {{ edges {{ node {{ __typename id assignee {{ __typename id }} }} }} }}
"""
STAFF_LISTINGS = (
    f"query One($alice: ID!) {{ customer(id: $alice) {{ {CUSTOMER_360} }} }}",
    f"{{ customers(first: 3) {{ {IDS} }} tiers {{ __typename id }} viewer {{ __typename id }} }}",
    f"{{ complaints(first: 3) {{ {IDS} }} interactions(first: 3) {{ {IDS} }} }}",
    "{ offers(first: 3) { edges { node { __typename id createdBy { __typename id } } } } }",
    f"{{ rewards(first: 3) {{ {IDS} }} campaigns(first: 3) {{ {IDS} }} }}",
    f"{{ auditLog(first: 3) {{ {IDS} }} staffMembers(first: 3) {{ {IDS} }} }}",
)
CUSTOMER_LISTINGS = (
    f"{{ me {{ {CUSTOMER_360} }} tiers {{ __typename id }} }}",
    f"{{ complaints(first: 3) {{ {IDS} }} interactions(first: 3) {{ {IDS} }} }}",
    f"{{ rewards(first: 3) {{ {IDS} }} }}",
)
MERCHANT_LISTINGS = (f"{{ merchantOffers(first: 3) {{ {IDS} }} }}",)
ALL_STAFF = frozenset(DEMO_STAFF)
LISTED_BY: dict[str, frozenset[str]] = {
    "Customer": ALL_STAFF | {"customer"},
    "Card": ALL_STAFF | {"customer"},
    "Tier": ALL_STAFF | {"customer"},
    "Branch": ALL_STAFF | {"customer"},
    "Viewer": ALL_STAFF,
    "Complaint": frozenset({"admin", "supervisor", "agent", "auditor", "customer"}),
    # Marketers see staff as offers' `createdBy` too, when the newest offers have an author.
    "StaffMember": frozenset({"admin", "supervisor", "agent", "auditor", "customer"}),
    "Interaction": frozenset({"admin", "supervisor", "agent", "auditor", "customer"}),
    "Offer": frozenset({"admin", "supervisor", "agent", "marketer", "auditor"}),
    "OfferAssignment": frozenset({"admin", "supervisor", "agent", "marketer", "auditor"})
    | {"customer"},
    "AuditEntry": frozenset({"admin", "auditor"}),
    "Transaction": frozenset({"admin", "supervisor", "agent", "risk_officer", "auditor"})
    | {"customer"},
    "MerchantOffer": frozenset({"merchant"}),
    # The rewards catalogue: staff who hold points:read, and customers (what they may redeem).
    "Reward": frozenset({"admin", "supervisor", "agent", "marketer", "auditor", "customer"}),
    # Campaigns: whoever holds campaigns:read.
    "Campaign": frozenset({"admin", "supervisor", "marketer", "auditor"}),
}
ROLES = sorted({role for roles in LISTED_BY.values() for role in roles})


@dataclass
class Callers:
    tokens: dict[str, str]
    alice: str


def _node_types() -> set[str]:
    schema = build_schema(live_schema.as_str())
    node = schema.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    return {kind.name for kind in schema.get_implementations(node).objects}


def _shown(value: Any) -> set[tuple[str, str]]:
    """Every (type, id) pair anywhere in a response's data."""
    if isinstance(value, list):
        return {pair for inner in value for pair in _shown(inner)}
    if not isinstance(value, dict):
        return set()
    pairs = {pair for inner in value.values() for pair in _shown(inner)}
    if "__typename" in value and value.get("id"):
        pairs.add((value["__typename"], value["id"]))
    return pairs


@pytest.fixture(scope="module")
async def callers(server: Server, world: World) -> Callers:
    """Alice with a complaint assigned to an agent, an interaction, an accepted offer, a
    transaction and an audit entry; a token per role, and one for the offer's merchant."""
    supervisor = staff_token(server, world, "demo-supervisor")
    filed = await server.graphql(
        "mutation($i: FileComplaintInput!) { fileComplaint(input: $i) { complaint { id } } }",
        {"i": {"description": "年费扣了两次", "category": "FEES"}},
        token=customer_token(server, world.alice.id),
    )
    complaint = filed["data"]["fileComplaint"]["complaint"]["id"]
    agent_id = to_global_id("StaffMember", world.staff["demo-agent"].id)
    assign = (
        "mutation($i: AssignComplaintInput!) { assignComplaint(input: $i) { userErrors { code } } }"
    )
    assigned = await server.graphql(
        assign, {"i": {"id": complaint, "version": 1, "assigneeId": agent_id}}, token=supervisor
    )
    assert assigned["data"]["assignComplaint"]["userErrors"] == [], assigned
    alice = to_global_id("Customer", world.alice.id)
    log = "mutation($i: LogInteractionInput!) { logInteraction(input: $i) { userErrors { code } } }"
    entry = {"customerId": alice, "channel": "PHONE", "direction": "INBOUND"}
    logged = await server.graphql(
        log, {"i": {**entry, "kind": "SERVICE", "subject": "问年费"}}, token=supervisor
    )
    assert logged["data"]["logInteraction"]["userErrors"] == [], logged
    reveal = "mutation($i: RevealCustomerPiiInput!) { revealCustomerPii(input: $i) { userErrors { code } } }"
    purpose = "verify the caller for the fee complaint"
    revealed = await server.graphql(
        reveal,
        {"i": {"customerId": alice, "fields": ["PHONE"], "purpose": purpose}},
        token=supervisor,
    )
    assert revealed["data"]["revealCustomerPii"]["userErrors"] == [], revealed
    activate = "mutation($i: CardActionInput!) { activateCard(input: $i) { userErrors { code } } }"
    card = to_global_id("Card", world.alice.card_ids[0])
    activated = await server.graphql(
        activate, {"i": {"cardId": card, "version": 1}}, token=supervisor
    )
    assert activated["data"]["activateCard"]["userErrors"] == [], activated  # spending books
    feed = await add_oauth_client(server.state, scopes="transactions:write", name="node-feed")
    ingested = await server.graphql(
        "mutation($i: IngestTransactionsInput!) { ingestTransactions(input: $i) { imported } }",
        {"i": {"transactions": [_purchase(world)]}},
        token=await client_credentials_token(server.client, feed),
    )
    assert ingested["data"]["ingestTransactions"]["imported"] == 1, ingested
    merchant = await add_merchant(server.state, "节点商户")
    await accept_offer(server.state, await add_offer(server.state, merchant), world.alice.id)
    async with server.state.database.session() as session:  # a reward customers may redeem
        now = datetime.now(UTC)
        session.add(
            Reward(
                name="节点奖品",
                points_price=10,
                stock=5,
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=30),
            )
        )
        segment = SavedSegment(name="节点分群", filter={}, created_by="node-test")
        session.add(segment)
        await session.flush()
        session.add(Campaign(name="节点活动", segment_id=segment.id, template="您好"))
        await session.commit()
    tokens = {role: staff_token(server, world, name) for role, name in DEMO_STAFF.items()}
    tokens["customer"] = customer_token(server, world.alice.id)
    tokens["merchant"] = merchant_token(server.state, merchant)
    return Callers(tokens, alice)


def _purchase(world: World) -> dict[str, str]:
    return {
        "cardId": to_global_id("Card", world.alice.card_ids[0]),
        "amount": "88.00",
        "merchant": "节点餐厅",
        "merchantCategory": "dining",
        "channel": "pos",
        "time": "2025-10-01T19:30:00+08:00",
        "reference": "NODE-1",
    }


async def _listed(server: Server, callers: Callers, role: str) -> set[tuple[str, str]]:
    if role == "customer":
        documents = CUSTOMER_LISTINGS
    elif role == "merchant":
        documents = MERCHANT_LISTINGS
    else:
        documents = STAFF_LISTINGS
    shown: set[tuple[str, str]] = set()
    for document in documents:
        variables = {"alice": callers.alice} if "$alice" in document else {}
        body = await server.graphql(document, variables, token=callers.tokens[role])
        codes = {error["extensions"]["code"] for error in body.get("errors", [])}
        assert codes <= {"FORBIDDEN"}, (document, body)
        shown |= _shown(body["data"])
    return shown


def test_every_node_type_of_the_live_schema_is_listed_by_someone() -> None:
    assert _node_types() == set(LISTED_BY)


@pytest.mark.parametrize("role", ROLES)
async def test_every_object_a_role_is_shown_is_refetched_through_node(
    server: Server, callers: Callers, role: str
) -> None:
    shown = await _listed(server, callers, role)

    expected = {type_name for type_name, roles in LISTED_BY.items() if role in roles}
    assert expected <= {type_name for type_name, _ in shown}, shown
    for type_name, global_id in sorted(shown):
        body = await server.graphql(NODE, {"id": global_id}, token=callers.tokens[role])
        assert body == {"data": {"node": {"__typename": type_name, "id": global_id}}}, (
            role,
            type_name,
            body,
        )


async def test_a_customer_through_node_answers_every_domains_fields(
    server: Server, callers: Callers
) -> None:
    """Customer is assembled from several domains' parts (``schema.graph``) while resolvers
    return the customers' own part: ``node`` must still resolve it to Customer, and a
    fragment on Customer must reach the contributed fields as ``customer`` does."""
    fields = (
        "__typename id phone tier { code } tierProgress { percent } churnRisk { score } "
        "rfm { frequency } tierHistory(first: 2) { change } cards { last4 } "
        "interactions(first: 2) { totalCount } complaints(first: 2) { totalCount } "
        "offers(first: 2) { totalCount } recommendedOffers { affinity } revealableFields"
    )
    token = callers.tokens["admin"]
    direct = await server.graphql(
        f"query($id: ID!) {{ customer(id: $id) {{ {fields} }} }}",
        {"id": callers.alice},
        token=token,
    )
    assert "errors" not in direct, direct
    customer = direct["data"]["customer"]
    assert customer["cards"]
    assert all(
        customer[part]["totalCount"] >= 1 for part in ("interactions", "complaints", "offers")
    )

    fragment = f"fragment All on Customer {{ {fields} }}"
    by_node = await server.graphql(
        f"query($id: ID!) {{ node(id: $id) {{ ...All }} }} {fragment}",
        {"id": callers.alice},
        token=token,
    )
    assert by_node == {"data": {"node": customer}}
