"""A customer's data export end to end, over HTTP and the CLI (issue 16, privacy rights).

Given a customer an agent created through the API (every C2 field, a card), who filed a
complaint in the app and whom the agent called (notes), when the customer asks for an
export in the app, then ``cardcrm privacy exports --once`` produces it, the customer gets a
link, the link downloads the JSON document once (attachment, no-store) and a second use is
refused with 410 LINK_GONE; the document holds every C2 field in clear as created, the card
masked (BIN and last 4), the free texts opened and a section for every sealed table; the
document is dropped after the download, and every step is audited without a clear value.
"""

from __future__ import annotations

import random
import uuid
from datetime import date
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlmodel import col

from core.settings import Settings
from models.audit.audit import AuditEntry
from models.customers.identifiers import (
    generate_mobile,
    generate_national_id,
    generate_unionpay_pan,
)
from models.privacy.request import PrivacyRequest
from models.privacy.subjects import SUBJECTS
from resolvers.privacy.export_job import DOWNLOAD_ACTION, DOWNLOAD_REFUSED_ACTION, PRODUCE_ACTION
from resolvers.privacy.requests import LINK_ACTION, REQUEST_ACTION
from schema.relay import to_global_id, uuid_of
from tests.conftest import Server, customer_token, staff_token
from tests.models.conftest import FreshDatabase
from tests.support import World
from tests.support_alerts import add_alert
from tests.support_offers import accept_offer, add_merchant, add_offer

pytestmark = pytest.mark.slow

CREATE = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } userErrors { code message } }
}
"""
FILE = """
mutation($i: FileComplaintInput!) { fileComplaint(input: $i) { userErrors { code } } }
"""
LOG = """
mutation($i: LogInteractionInput!) { logInteraction(input: $i) { userErrors { code } } }
"""
REQUEST = """
mutation { requestMyDataExport { request { id kind status requestedAt }
                                  userErrors { code message } } }
"""
LINK = """
mutation($id: ID!) {
  createMyDataExportLink(input: {requestId: $id}) {
    request { id status expiresAt } url expiresAt userErrors { field code message }
  }
}
"""
MINE = "{ myPrivacyRequests { id kind status requestedAt completedAt expiresAt } }"
COMPLAINT = "账单上有一笔不认识的消费"
NOTES = "客户来电询问年费，已解释减免规则"


# Each C2 field of createCustomer's input, and its name in the export's customer section.
C2_FIELDS = {
    "name": "name",
    "birthDate": "birth_date",
    "idNumber": "id_number",
    "phone": "phone",
    "email": "email",
    "address": "address",
    "customerNumber": "customer_number",
}


def c2_fields_of(profile: dict[str, Any]) -> dict[str, Any]:
    """The export's C2 values, by their input names."""
    return {field: profile[exported] for field, exported in C2_FIELDS.items()}


def c2_fields_given(data: dict[str, Any]) -> dict[str, Any]:
    """The C2 values createCustomer was given."""
    return {field: data[field] for field in C2_FIELDS}


def _new_customer(rng: random.Random) -> dict[str, Any]:
    born = date(1988, 11, 23)
    return {
        "name": "欧阳娜娜",
        "birthDate": born.isoformat(),
        "idNumber": generate_national_id(rng, born),
        "phone": generate_mobile(rng),
        "email": f"nana{rng.randrange(10**6)}@example.com",
        "address": "上海市浦东新区世纪大道100号",
        "customerNumber": f"CIF{rng.randrange(10**8):08d}",
        "gender": "FEMALE",
        "tags": ["travel"],
        "cards": [
            {
                "pan": generate_unionpay_pan(rng),
                "product": "UnionPay Gold",
                "creditLimit": "50000.00",
            }
        ],
    }


async def _created_customer(server: Server, world: World, data: dict[str, Any]) -> uuid.UUID:
    agent = staff_token(server, world, "demo-agent")
    body = await server.graphql(CREATE, {"input": data}, token=agent)
    assert body["data"]["createCustomer"]["userErrors"] == [], body
    customer_id = uuid_of(body["data"]["createCustomer"]["customer"]["id"], "Customer")
    filed = await server.graphql(
        FILE,
        {"i": {"description": COMPLAINT, "category": "BILLING_DISPUTE"}},
        token=customer_token(server, customer_id),
    )
    assert filed["data"]["fileComplaint"]["userErrors"] == [], filed
    logged = await server.graphql(
        LOG,
        {
            "i": {
                "customerId": to_global_id("Customer", customer_id),
                "channel": "PHONE",
                "direction": "INBOUND",
                "kind": "SERVICE",
                "subject": "年费",
                "notes": NOTES,
            }
        },
        token=agent,
    )
    assert logged["data"]["logInteraction"]["userErrors"] == [], logged
    return customer_id


async def _audit(server: Server, request_id: uuid.UUID) -> list[tuple[str, str, dict[str, Any]]]:
    async with server.state.database.session() as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(col(AuditEntry.target_id) == str(request_id))
            .order_by(col(AuditEntry.seq))
        )
        return [(row.action, row.actor_kind, row.details) for row in rows]


async def test_an_export_is_produced_by_the_job_and_downloaded_once_with_every_field(
    server: Server, world: World, settings: Settings
) -> None:
    # Given a customer created through the API, with a complaint and a call
    data = _new_customer(random.Random(1601))
    customer_id = await _created_customer(server, world, data)
    token = customer_token(server, customer_id)
    merchant = await add_merchant(server.state, "导出测试商户")
    accepted = await accept_offer(
        server.state, await add_offer(server.state, merchant), customer_id
    )
    await add_alert(server.state, customer_id)

    # When they ask for an export
    asked = (await server.graphql(REQUEST, token=token))["data"]["requestMyDataExport"]
    assert asked["userErrors"] == []
    assert (asked["request"]["kind"], asked["request"]["status"]) == ("EXPORT", "PENDING")
    request_gid = asked["request"]["id"]
    request_id = uuid_of(request_gid, "PrivacyRequest")
    early = (await server.graphql(LINK, {"id": request_gid}, token=token))["data"]
    assert [e["code"] for e in early["createMyDataExportLink"]["userErrors"]] == ["CONFLICT"]

    # Then the job produces it
    job = await FreshDatabase(settings).run_cli("privacy", "exports", "--once")
    assert job.returncode == 0, job.stderr
    assert "exports produced" in job.stdout
    (listed,) = [
        r
        for r in (await server.graphql(MINE, token=token))["data"]["myPrivacyRequests"]
        if r["id"] == request_gid
    ]
    assert listed["status"] == "READY"
    async with server.state.database.session() as session:
        sealed = await session.get(PrivacyRequest, request_id)
        assert sealed is not None
        assert sealed.document_enc is not None  # sealed at rest: no clear value in the row
        assert data["name"].encode() not in sealed.document_enc
        assert data["phone"].encode() not in sealed.document_enc
    assert listed["completedAt"] is not None

    # And a link downloads it once
    linked = (await server.graphql(LINK, {"id": request_gid}, token=token))["data"]
    link = linked["createMyDataExportLink"]
    assert link["userErrors"] == []
    assert link["url"].startswith("/privacy/exports/")
    assert len(link["url"]) > 50
    first = await server.client.get(link["url"])
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/json"
    assert first.headers["content-disposition"].startswith("attachment")
    assert "no-store" in first.headers["cache-control"]
    second = await server.client.get(link["url"])
    assert second.status_code == 410
    assert second.json()["errors"][0]["extensions"]["code"] == "LINK_GONE"
    unknown = await server.client.get("/privacy/exports/not-a-token")
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    # The document: every C2 field in clear, as created
    document = orjson.loads(first.content)
    tables = document["tables"]
    profile = tables["customers"]
    assert c2_fields_of(profile) == c2_fields_given(data)
    assert (profile["gender"], profile["tier"], profile["tags"]) == (
        "female",
        "standard",
        ["travel"],
    )
    assert {"lifecycle_stage", "risk_grade", "credit_score", "segments"} <= set(profile)
    assert set(SUBJECTS) - {"privacy_requests"} <= set(tables)
    (card,) = tables["cards"]
    pan = data["cards"][0]["pan"]
    assert card["pan_masked"] == pan[:6] + "******" + pan[-4:]
    assert "pan" not in card
    assert pan not in first.text
    assert [c["description"] for c in tables["complaints"]] == [COMPLAINT]
    assert [i["notes"] for i in tables["interactions"]] == [NOTES]
    assert [o["code"] for o in tables["offer_assignments"]] == [accepted.code]
    assert len(tables["risk_alerts"]) == 1
    assert {"consent_changes", "card_events", "transactions", "points_entries"} <= set(tables)
    (own,) = [r for r in tables["privacy_requests"] if r["id"] == str(request_id)]
    assert "document" not in own
    assert "token_hash" not in own

    # And it is gone after the download, every step audited with no clear value
    async with server.state.database.session() as session:
        row = await session.get(PrivacyRequest, request_id)
        assert row is not None
        assert (row.status, row.document_enc) == ("downloaded", None)
    trail = await _audit(server, request_id)
    assert [(action, kind) for action, kind, _ in trail] == [
        (REQUEST_ACTION, "customer"),
        ("privacy.export.link.refused", "customer"),
        (PRODUCE_ACTION, "system"),
        (LINK_ACTION, "customer"),
        (DOWNLOAD_ACTION, "customer"),
        (DOWNLOAD_REFUSED_ACTION, "customer"),
    ]
    produced = trail[2][2]
    assert produced["rows"]["complaints"] == 1
    assert produced["bytes"] > 0
    assert data["phone"] not in str(trail)
    assert data["name"] not in str(trail)
