"""Segments you can act on, over HTTP as each role: ``segmentCounts`` (suppressed for
marketers), saved segments (CRUD per role, versions, unique names), a segment's count, offers
targeted by a segment's name, and the refusals (customers, merchants, agents, guarded
conditions). Each test marks its own customers with a tag of its own, so the shared world's
other customers never count."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from models.audit.audit import AuditEntry
from models.columns import utcnow
from models.customers.customer import Customer
from models.growth.offer import Offer, OfferAssignment, OfferStatus
from models.merchants.merchant import Merchant
from resolvers.customers.input import Consent
from schema.relay import to_global_id, uuid_of
from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF as STAFF
from tests.support import (
    World,
    add_customer,
    add_oauth_client,
    client_credentials_token,
    letters_label,
)

COUNTS = """
query Counts($filter: CustomerFilter) {
  segmentCounts(filter: $filter) {
    customers minGroupSize
    bySegment { key customers } byLifecycleStage { key customers } byTier { key customers }
  }
}
"""
SAVE = """
mutation Save($input: SaveSegmentInput!) {
  saveSegment(input: $input) {
    segment { id name description version count filter { tags segments riskGrades } }
    userErrors { code field message }
  }
}
"""
UPDATE = """
mutation Update($input: UpdateSegmentInput!) {
  updateSegment(input: $input) {
    segment { id name version count } userErrors { code field message }
  }
}
"""
DELETE = """
mutation Delete($input: DeleteSegmentInput!) {
  deleteSegment(input: $input) { deletedId userErrors { code field message } }
}
"""
LIST = "{ savedSegments(first: 100) { totalCount edges { node { id name count } } } }"
TARGET = """
mutation Target($input: TargetOfferInput!) {
  targetOffer(input: $input) { targeted skippedOverQuota userErrors { code field message } }
}
"""


def _tag() -> str:
    return letters_label("t")


async def _people(
    server: Server, world: World, tag: str, specs: list[dict[str, Any]]
) -> list[uuid.UUID]:
    """Customers carrying ``tag``, each with the given stage, segments and consent."""
    ids = []
    for spec in specs:
        customer_id = await add_customer(
            server.state,
            world,
            branch=spec.get("branch", "BJ-CY"),
            consent=spec.get("consent"),
            seed=None,
        )
        async with server.state.database.session() as session:
            await session.execute(
                update(Customer)
                .where(Customer.id == customer_id)  # type: ignore[arg-type]
                .values(
                    tags=[tag],
                    segments=list(spec.get("segments", ())),
                    lifecycle_stage=spec.get("stage", "active"),
                    risk_grade=spec.get("grade", "C"),
                )
            )
            await session.commit()
        ids.append(customer_id)
    return ids


def _token(server: Server, world: World, role: str) -> str:
    return staff_token(server, world, STAFF[role])


async def _outsider_tokens(server: Server, world: World) -> dict[str, str]:
    merchant = await add_oauth_client(
        server.state, scopes="offers:read offers:redeem", merchant=f"分群商户{_tag()}"
    )
    return {
        "customer": customer_token(server, world.alice.id),
        "merchant": await client_credentials_token(server.client, merchant),
    }


async def test_counts_break_down_by_segment_stage_and_tier_exactly_for_supervisors(
    server: Server, world: World
) -> None:
    tag = _tag()
    await _people(
        server,
        world,
        tag,
        [
            {"segments": ["dining", "travel"]},
            {"segments": ["dining"], "stage": "at_risk"},
            {"segments": [], "stage": "at_risk"},
            {"segments": ["dining"], "branch": "SH-PD"},
        ],
    )
    body = await server.graphql(
        COUNTS, {"filter": {"tags": [tag]}}, token=_token(server, world, "supervisor")
    )
    counts = body["data"]["segmentCounts"]
    # the supervisor's branch only, exact
    assert counts["customers"] == 3
    assert counts["minGroupSize"] == 0
    assert counts["bySegment"] == [
        {"key": "dining", "customers": 2},
        {"key": "travel", "customers": 1},
    ]
    assert counts["byLifecycleStage"] == [
        {"key": "active", "customers": 1},
        {"key": "at_risk", "customers": 2},
    ]
    assert counts["byTier"] == [{"key": "standard", "customers": 3}]

    admin = await server.graphql(
        COUNTS,
        {"filter": {"tags": [tag], "segments": ["dining"]}},
        token=_token(server, world, "admin"),
    )
    assert admin["data"]["segmentCounts"]["customers"] == 3


async def test_marketers_counts_hide_groups_below_the_minimum_size(
    server: Server, world: World
) -> None:
    tag = _tag()
    size = server.state.settings.stats_min_group_size
    await _people(server, world, tag, [{"segments": ["dining"]}] * size + [{"stage": "dormant"}])
    body = await server.graphql(
        COUNTS, {"filter": {"tags": [tag]}}, token=_token(server, world, "marketer")
    )
    counts = body["data"]["segmentCounts"]
    assert counts["customers"] == size + 1
    assert counts["minGroupSize"] == size
    assert counts["bySegment"] == [{"key": "dining", "customers": size}]
    assert {"key": "dormant", "customers": None} in counts["byLifecycleStage"]

    # a filter narrowed to one person shows no total either
    one = await server.graphql(
        COUNTS,
        {"filter": {"tags": [tag], "lifecycleStages": ["DORMANT"]}},
        token=_token(server, world, "marketer"),
    )
    assert one["data"]["segmentCounts"]["customers"] is None


@pytest.mark.parametrize(
    ("role", "filter"),
    [
        ("marketer", {"riskGrades": ["E"]}),
        ("marketer", {"riskGrade": "E"}),
    ],
)
async def test_a_count_by_a_field_the_caller_may_not_see_is_forbidden(
    server: Server, world: World, role: str, filter: dict[str, Any]
) -> None:
    body = await server.graphql(COUNTS, {"filter": filter}, token=_token(server, world, role))
    assert body["data"] == {"segmentCounts": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # a role that sees risk grades counts by them
    allowed = await server.graphql(
        COUNTS, {"filter": filter}, token=_token(server, world, "risk_officer")
    )
    assert "errors" not in allowed, allowed


async def test_agents_customers_and_merchants_get_no_counts_or_segments(
    server: Server, world: World
) -> None:
    tokens = {"agent": _token(server, world, "agent"), **await _outsider_tokens(server, world)}
    for role, token in tokens.items():
        for query in (COUNTS, LIST):
            body = await server.graphql(query, token=token)
            assert body["data"] is None or set(body["data"].values()) == {None}, role
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", role
        saved = await server.graphql(SAVE, {"input": {"name": _tag(), "filter": {}}}, token=token)
        assert saved["data"]["saveSegment"]["userErrors"][0]["code"] == "FORBIDDEN", role


async def _save(server: Server, token: str, **input: Any) -> dict[str, Any]:
    body = await server.graphql(SAVE, {"input": input}, token=token)
    return body["data"]["saveSegment"]  # type: ignore[no-any-return]


async def test_saved_segments_are_saved_counted_changed_and_deleted_per_role(
    server: Server, world: World
) -> None:
    tag = _tag()
    await _people(server, world, tag, [{"segments": ["dining"]}] * 6)
    marketer = _token(server, world, "marketer")

    saved = await _save(
        server, marketer, name=f"dining {tag}", filter={"tags": [tag]}, description="餐饮客群"
    )
    assert saved["userErrors"] == []
    segment = saved["segment"]
    assert segment["count"] == 6
    assert segment["filter"] == {"tags": [tag], "segments": [], "riskGrades": []}
    assert segment["version"] == 1
    async with server.state.database.session() as session:
        actions = set(
            await session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.target_id == str(uuid_of(segment["id"], "SavedSegment"))
                )
            )
        )
    assert actions == {"segment.save"}

    # the name is unique
    again = await _save(
        server, _token(server, world, "supervisor"), name=f"dining {tag}", filter={}
    )
    assert again["userErrors"][0]["code"] == "CONFLICT"
    # a marketer may not save what they may not filter by
    hidden = await _save(server, marketer, name=f"risky {tag}", filter={"riskGrades": ["E"]})
    assert hidden["userErrors"][0]["code"] == "FORBIDDEN"
    # nor personal data in a name
    personal = await _save(server, marketer, name="13812345678", filter={})
    assert personal["userErrors"][0]["code"] == "BAD_USER_INPUT"

    listed = await server.graphql(LIST, token=marketer)
    names = {
        edge["node"]["name"]: edge["node"] for edge in listed["data"]["savedSegments"]["edges"]
    }
    assert names[f"dining {tag}"]["count"] == 6
    # the supervisor counts it in their own scope (all six are in BJ-CY, as is the supervisor)
    supervisor_list = await server.graphql(LIST, token=_token(server, world, "supervisor"))
    assert any(
        edge["node"]["name"] == f"dining {tag}"
        for edge in supervisor_list["data"]["savedSegments"]["edges"]
    )

    # only its author or an admin changes it, from the current version
    change = {"id": segment["id"], "version": 1, "name": f"dining2 {tag}"}
    other = await server.graphql(
        UPDATE, {"input": change}, token=_token(server, world, "supervisor")
    )
    assert other["data"]["updateSegment"]["userErrors"][0]["code"] == "FORBIDDEN"
    changed = await server.graphql(
        UPDATE, {"input": {**change, "filter": {"tags": [tag], "segments": ["x"]}}}, token=marketer
    )
    assert changed["data"]["updateSegment"]["segment"] == {
        "id": segment["id"],
        "name": f"dining2 {tag}",
        "version": 2,
        "count": 0,
    }
    stale = await server.graphql(UPDATE, {"input": change}, token=marketer)
    assert stale["data"]["updateSegment"]["userErrors"][0]["code"] == "CONFLICT"

    gone = await server.graphql(
        DELETE, {"input": {"id": segment["id"], "version": 2}}, token=_token(server, world, "admin")
    )
    assert gone["data"]["deleteSegment"] == {"deletedId": segment["id"], "userErrors": []}
    missing = await server.graphql(
        DELETE, {"input": {"id": segment["id"], "version": 2}}, token=marketer
    )
    assert missing["data"]["deleteSegment"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_a_marketers_saved_segment_count_is_suppressed(server: Server, world: World) -> None:
    tag = _tag()
    await _people(server, world, tag, [{}, {}])
    saved = await _save(
        server, _token(server, world, "marketer"), name=f"two {tag}", filter={"tags": [tag]}
    )
    assert saved["segment"]["count"] is None
    listed = await server.graphql(LIST, token=_token(server, world, "admin"))
    counts = {
        e["node"]["name"]: e["node"]["count"] for e in listed["data"]["savedSegments"]["edges"]
    }
    assert counts[f"two {tag}"] == 2


async def _live_offer(server: Server, **rules: Any) -> Offer:
    now = utcnow()
    async with server.state.database.session() as session:
        merchant = Merchant(name="分群商户", category="dining")
        session.add(merchant)
        await session.flush()
        offer = Offer(
            merchant_id=merchant.id,
            title="餐饮八折",
            category="dining",
            benefit_type="percent_off",
            benefit_value=20,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=30),
            status=OfferStatus.ACTIVE,
            **rules,
        )
        session.add(offer)
        await session.commit()
    return offer


async def test_an_offer_targets_a_saved_segment_by_name(server: Server, world: World) -> None:
    tag = _tag()
    push = Consent(push=True)
    fit, no_consent, wrong_stage, other_segment = await _people(
        server,
        world,
        tag,
        [
            {"segments": ["dining"], "consent": push},
            {"segments": ["dining"]},
            {"segments": ["dining"], "consent": push, "stage": "dormant"},
            {"segments": ["travel"], "consent": push},
        ],
    )
    marketer = _token(server, world, "marketer")
    name = f"dining {tag}"
    await _save(server, marketer, name=name, filter={"tags": [tag], "segments": ["dining"]})
    offer = await _live_offer(server, eligible_stages=["active", "loyal"])
    offer_id = to_global_id("Offer", offer.id)

    unknown = await server.graphql(
        TARGET, {"input": {"offerId": offer_id, "segment": f"none {tag}"}}, token=marketer
    )
    assert unknown["data"]["targetOffer"]["userErrors"][0]["code"] == "NOT_FOUND"

    body = await server.graphql(
        TARGET, {"input": {"offerId": offer_id, "segment": name}}, token=marketer
    )
    assert body["data"]["targetOffer"] == {"targeted": 1, "skippedOverQuota": 0, "userErrors": []}
    async with server.state.database.session() as session:
        assigned = set(
            await session.scalars(
                select(OfferAssignment.customer_id).where(OfferAssignment.offer_id == offer.id)
            )
        )
    assert assigned == {fit}
    assert not assigned & {no_consent, wrong_stage, other_segment}


FILTERED_PAGE = """
query Page($first: Int, $filter: CustomerFilter) {
  customers(first: $first, filter: $filter, orderBy: {field: CHURN_SCORE}) {
    totalCount
    edges { cursor node { id name segments tier { code } branch { code } cards { id last4 } } }
  }
}
"""


async def test_a_filtered_ordered_page_costs_the_same_statements_whatever_its_size(
    server: Server, world: World
) -> None:
    tag = _tag()
    await _people(server, world, tag, [{"segments": ["dining"]}] * 12)
    token = _token(server, world, "admin")
    variables: dict[str, Any] = {"filter": {"tags": [tag], "segments": ["dining", "x"]}}
    await server.graphql(FILTERED_PAGE, {**variables, "first": 1}, token=token)
    counts = []
    for size in (2, 6, 12):
        body, statements = await server.count_statements(
            FILTERED_PAGE, {**variables, "first": size}, token=token
        )
        assert "errors" not in body, body
        assert len(body["data"]["customers"]["edges"]) == size
        assert body["data"]["customers"]["totalCount"] == 12
        counts.append(statements)
    # page + count + cards + branches, whatever the page size
    assert counts == [4, 4, 4]


@pytest.mark.parametrize("role", ["risk_officer", "auditor"])
async def test_analytics_readers_without_segments_write_read_but_do_not_save(
    server: Server, world: World, role: str
) -> None:
    token = _token(server, world, role)
    listed = await server.graphql(LIST, token=token)
    assert "errors" not in listed, listed
    saved = await _save(server, token, name=_tag(), filter={})
    assert saved["segment"] is None
    assert saved["userErrors"][0]["code"] == "FORBIDDEN"
