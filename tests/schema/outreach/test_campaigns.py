"""Campaign management over HTTP.

Given a saved segment, when staff create, change, cancel and read campaigns, then: marketers
and admins write them (audited), with the version checked (CONFLICT when stale, CONFLICT once
cancelled); supervisors and auditors read them; agents, risk officers, customers and merchants
are refused; bad terms and placeholders the author may not read are BAD_USER_INPUT naming
the field or the placeholder; the campaign is refetchable by its node ID.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from models.audit.audit import AuditEntry
from resolvers.outreach.campaigns import CANCEL_ACTION, CREATE_ACTION, UPDATE_ACTION
from schema.relay import uuid_of
from tests.conftest import Server
from tests.schema.outreach.support import (
    CANCEL,
    LAUNCH,
    UPDATE,
    create,
    outsider_tokens,
    saved_segment,
    tag,
    terms,
    token,
)
from tests.support import World

LIST = """
query($status: CampaignStatus) {
  campaigns(first: 100, status: $status) { totalCount edges { node { id name status } } }
}
"""
ONE = "query($id: ID!) { campaign(id: $id) { id name goal results { audience } } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on Campaign { name } } }"


async def _segment(server: Server, world: World) -> str:
    return await saved_segment(server, world, tag())


@pytest.mark.parametrize("role", ["marketer", "admin"])
async def test_marketers_and_admins_create_update_and_cancel_campaigns(
    server: Server, world: World, role: str
) -> None:
    segment = await _segment(server, world)
    created = await create(server, world, role, **terms(segment, controlPercent=20))
    assert created["userErrors"] == []
    campaign = created["campaign"]
    assert (campaign["status"], campaign["version"], campaign["controlPercent"]) == (
        "DRAFT",
        1,
        20,
    )

    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    change = {"campaignId": campaign["id"], "version": 1, "scheduledAt": later}
    body = await server.graphql(UPDATE, {"input": change}, token=token(server, world, role))
    updated = body["data"]["updateCampaign"]["campaign"]
    assert (updated["status"], updated["version"]) == ("SCHEDULED", 2)
    stale = await server.graphql(UPDATE, {"input": change}, token=token(server, world, role))
    assert stale["data"]["updateCampaign"]["userErrors"][0]["code"] == "CONFLICT"

    cancel = {"campaignId": campaign["id"], "version": 2}
    body = await server.graphql(CANCEL, {"input": cancel}, token=token(server, world, role))
    assert body["data"]["cancelCampaign"]["campaign"]["status"] == "CANCELLED"
    again = {**change, "version": 3}
    after = await server.graphql(UPDATE, {"input": again}, token=token(server, world, role))
    assert after["data"]["updateCampaign"]["userErrors"] == [
        {
            "field": "campaignId",
            "code": "CONFLICT",
            "message": after["data"]["updateCampaign"]["userErrors"][0]["message"],
        }
    ]

    async with server.state.database.session() as session:
        actions = list(
            await session.scalars(
                select(col(AuditEntry.action)).where(
                    col(AuditEntry.target_id) == str(uuid_of(campaign["id"], "Campaign"))
                )
            )
        )
    refused = UPDATE_ACTION + ".refused"  # the stale update, and the one after cancelling
    assert sorted(actions) == sorted(
        [CREATE_ACTION, UPDATE_ACTION, refused, CANCEL_ACTION, refused]
    )


@pytest.mark.parametrize("role", ["supervisor", "agent", "risk_officer", "auditor"])
async def test_other_staff_may_not_write_campaigns(server: Server, world: World, role: str) -> None:
    segment = await _segment(server, world)
    created = await create(server, world, role, **terms(segment))
    assert created == {"campaign": None, "userErrors": [created["userErrors"][0]]}
    assert created["userErrors"][0]["code"] == "FORBIDDEN"


async def test_customers_and_merchants_may_not_write_or_read_campaigns(
    server: Server, world: World
) -> None:
    segment = await _segment(server, world)
    campaign = (await create(server, world, **terms(segment)))["campaign"]
    for who, outsider in (await outsider_tokens(server, world)).items():
        body = await server.graphql(
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) "
            "{ userErrors { code } } }",
            {"input": terms(segment)},
            token=outsider,
        )
        assert body["data"]["createCampaign"]["userErrors"] == [{"code": "FORBIDDEN"}], who
        listed = await server.graphql(LIST, token=outsider)
        assert listed["data"]["campaigns"] is None, who
        assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN", who
        node = await server.graphql(NODE, {"id": campaign["id"]}, token=outsider)
        assert node["data"]["node"] is None, who


@pytest.mark.parametrize(
    ("role", "reads"),
    [
        ("admin", True),
        ("marketer", True),
        ("supervisor", True),
        ("auditor", True),
        ("agent", False),
        ("risk_officer", False),
    ],
)
async def test_campaigns_are_read_by_campaign_readers_only(
    server: Server, world: World, role: str, reads: bool
) -> None:
    segment = await _segment(server, world)
    campaign = (await create(server, world, **terms(segment)))["campaign"]
    listed = await server.graphql(LIST, {"status": "DRAFT"}, token=token(server, world, role))
    one = await server.graphql(ONE, {"id": campaign["id"]}, token=token(server, world, role))
    node = await server.graphql(NODE, {"id": campaign["id"]}, token=token(server, world, role))
    if reads:
        names = {e["node"]["name"] for e in listed["data"]["campaigns"]["edges"]}
        assert campaign["name"] in names
        assert one["data"]["campaign"]["results"] is None  # a draft has none yet
        assert one["data"]["campaign"]["name"] == campaign["name"]
        assert node["data"]["node"]["name"] == campaign["name"]
    else:
        assert listed["data"]["campaigns"] is None
        assert one["data"]["campaign"] is None
        assert one["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert node["data"]["node"] is None


async def test_bad_terms_are_refused_with_the_field(server: Server, world: World) -> None:
    segment = await _segment(server, world)
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for extra, field in (
        ({"controlPercent": 51}, "controlPercent"),
        ({"controlPercent": -1}, "controlPercent"),
        ({"goalWindowDays": 0}, "goalWindowDays"),
        ({"goal": "OFFER_ACCEPTANCE"}, "offerId"),
        ({"goal": "SPEND"}, "goalSpendCents"),
        ({"scheduledAt": past}, "scheduledAt"),
        ({"name": "  "}, "name"),
        ({"template": "请致电 13812345678"}, "template"),
    ):
        created = await create(server, world, **terms(segment, **extra))
        assert [(e["field"], e["code"]) for e in created["userErrors"]] == [
            (field, "BAD_USER_INPUT")
        ], extra
    unknown = await create(server, world, **terms("no such segment " + tag()))
    assert [(e["field"], e["code"]) for e in unknown["userErrors"]] == [("segment", "NOT_FOUND")]


async def test_a_placeholder_is_refused_when_its_author_may_not_read_the_field(
    server: Server, world: World
) -> None:
    segment = await _segment(server, world)
    for template, placeholder in (
        ("您的积分 {points}", "{points}"),  # marketers see no individual's points
        ("地址 {address}", "{address}"),
        ("等级 {riskGrade}", "{riskGrade}"),
        ("你好 {nickname}", "{nickname}"),  # unknown
        ("优惠 {offer}", "{offer}"),  # no offer
    ):
        created = await create(server, world, **terms(segment, template=template))
        errors = created["userErrors"]
        assert [(e["field"], e["code"]) for e in errors] == [("template", "BAD_USER_INPUT")]
        assert placeholder in errors[0]["message"], template
    # An admin reads a customer's points and risk grade: the same template is theirs to send.
    admin = await create(server, world, "admin", **terms(segment, template="积分 {points}"))
    assert admin["userErrors"] == []


async def test_a_campaign_name_is_unique(server: Server, world: World) -> None:
    segment = await _segment(server, world)
    first = await create(server, world, **terms(segment))
    again = await create(server, world, **terms(segment, name=first["campaign"]["name"]))
    assert [(e["field"], e["code"]) for e in again["userErrors"]] == [("name", "CONFLICT")]


@pytest.mark.parametrize(
    "role", ["supervisor", "agent", "risk_officer", "auditor", "customer", "merchant"]
)
async def test_only_campaign_writers_update_cancel_or_launch(
    server: Server, world: World, role: str
) -> None:
    segment = await _segment(server, world)
    campaign = (await create(server, world, **terms(segment)))["campaign"]
    outsiders = await outsider_tokens(server, world) if role in ("customer", "merchant") else {}
    caller = outsiders.get(role) or token(server, world, role)
    target = {"campaignId": campaign["id"], "version": 1}
    for document, name, variables in (
        (UPDATE, "updateCampaign", {**target, "controlPercent": 5}),
        (CANCEL, "cancelCampaign", target),
        (LAUNCH, "launchCampaign", target),
    ):
        body = await server.graphql(document, {"input": variables}, token=caller)
        assert body["data"][name]["campaign"] is None, (role, name)
        assert [e["code"] for e in body["data"][name]["userErrors"]] == ["FORBIDDEN"]
    state = "query($id: ID!) { campaign(id: $id) { status version controlPercent } }"
    one = await server.graphql(state, {"id": campaign["id"]}, token=token(server, world, "admin"))
    assert one["data"]["campaign"] == {"status": "DRAFT", "version": 1, "controlPercent": 10}
