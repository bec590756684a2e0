"""The customer's export requests and links over HTTP: who may, how often, for how long.

Given customers in the app, when they ask for exports and links, then: one export at a time
(a second while one is pending or ready is CONFLICT); a link only for their own ready export
(another customer's: NOT_FOUND; not a PrivacyRequest ID: BAD_USER_INPUT; a pending one:
CONFLICT); a new link replaces the previous one; a link past its deadline is 410 LINK_GONE
and the job then drops the document (EXPIRED), after which a new export may be asked; an
export never linked runs out after ``privacy_export_ready_hours``; an erased customer's
export can no longer be downloaded (410) nor produced (expired); staff, even with
``privacy:write``, can neither ask nor list; ``myPrivacyRequests`` lists every kind.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from api.cli.evaluate import cli_event
from auth import audit
from core.settings import Settings
from models.columns import utcnow
from models.privacy.request import PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus
from resolvers.privacy.erasure import erase_customers
from resolvers.privacy.export_job import JobTally, produce_pending
from schema.relay import to_global_id, uuid_of
from tests.conftest import Server, customer_token, staff_token
from tests.resolvers.privacy.support_erasure import staff_event
from tests.security.conftest import running_app, variant
from tests.support import World, add_customer

REQUEST = """
mutation { requestMyDataExport { request { id kind status } userErrors { code message } } }
"""
LINK = """
mutation($id: ID!) {
  createMyDataExportLink(input: {requestId: $id}) {
    request { id status expiresAt } url expiresAt userErrors { field code message }
  }
}
"""
MINE = "{ myPrivacyRequests { id kind status requestedAt completedAt expiresAt } }"


async def _request(server: Server, token: str) -> dict[str, Any]:
    body = await server.graphql(REQUEST, token=token)
    assert "errors" not in body, body
    return dict(body["data"]["requestMyDataExport"])


async def _link(server: Server, token: str, request_id: str) -> dict[str, Any]:
    body = await server.graphql(LINK, {"id": request_id}, token=token)
    assert "errors" not in body, body
    return dict(body["data"]["createMyDataExportLink"])


def _codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def _job(server: Server, now: datetime | None = None) -> JobTally:
    async with server.state.database.session() as session:
        return await produce_pending(
            session,
            ring=server.state.key_ring,
            settings=server.state.settings,
            job_event=cli_event,
            now=now,
        )


async def _row(server: Server, request_id: str) -> PrivacyRequest:
    async with server.state.database.session() as session:
        row = await session.get(PrivacyRequest, uuid_of(request_id, "PrivacyRequest"))
        assert row is not None
        return row


async def _ready_export(server: Server, world: World) -> tuple[str, str]:
    """A fresh customer's token and the ID of their produced (ready) export."""
    token = customer_token(server, await add_customer(server.state, world))
    asked = await _request(server, token)
    assert asked["userErrors"] == []
    assert (await _job(server)).produced >= 1
    return token, asked["request"]["id"]


async def test_one_export_at_a_time_until_it_is_downloaded(server: Server, world: World) -> None:
    token = customer_token(server, await add_customer(server.state, world))
    first = await _request(server, token)
    assert first["request"]["status"] == "PENDING"
    assert _codes(await _request(server, token)) == ["CONFLICT"]
    await _job(server)
    assert _codes(await _request(server, token)) == ["CONFLICT"]  # ready, not downloaded

    link = await _link(server, token, first["request"]["id"])
    assert (await server.client.get(link["url"])).status_code == 200
    again = await _request(server, token)
    assert again["userErrors"] == []
    assert again["request"]["id"] != first["request"]["id"]
    listed = (await server.graphql(MINE, token=token))["data"]["myPrivacyRequests"]
    assert [(r["id"], r["status"]) for r in listed] == [
        (again["request"]["id"], "PENDING"),
        (first["request"]["id"], "DOWNLOADED"),
    ]


async def test_a_link_is_only_for_the_customers_own_ready_export(
    server: Server, world: World
) -> None:
    token, request_id = await _ready_export(server, world)
    other = customer_token(server, await add_customer(server.state, world))
    assert _codes(await _link(server, other, request_id)) == ["NOT_FOUND"]
    not_a_request = to_global_id("Customer", uuid.uuid4())
    assert _codes(await _link(server, token, not_a_request)) == ["BAD_USER_INPUT"]
    pending = (await _request(server, other))["request"]["id"]
    assert _codes(await _link(server, other, pending)) == ["CONFLICT"]
    assert (await _row(server, request_id)).token_hash is None  # the refusals made no link


async def test_a_new_link_replaces_the_previous_one(server: Server, world: World) -> None:
    token, request_id = await _ready_export(server, world)
    old = await _link(server, token, request_id)
    new = await _link(server, token, request_id)
    assert old["url"] != new["url"]
    replaced = await server.client.get(old["url"])
    assert replaced.status_code == 404
    assert replaced.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await server.client.get(new["url"])).status_code == 200


async def test_a_link_past_its_deadline_is_gone_and_the_job_drops_the_document(
    server: Server, world: World
) -> None:
    token, request_id = await _ready_export(server, world)
    link = await _link(server, token, request_id)
    expires_at = datetime.fromisoformat(link["expiresAt"])
    assert expires_at - utcnow() <= timedelta(seconds=600)
    # The clock moves past the link's deadline.
    async with server.state.database.session() as session:
        await session.execute(
            update(PrivacyRequest)
            .where(col(PrivacyRequest.id) == uuid_of(request_id, "PrivacyRequest"))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()

    gone = await server.client.get(link["url"])
    assert gone.status_code == 410
    assert gone.json()["errors"][0]["extensions"]["code"] == "LINK_GONE"
    assert gone.headers["cache-control"] == "no-store"
    assert _codes(await _link(server, token, request_id)) == ["CONFLICT"]
    assert (await _job(server)).expired >= 1
    row = await _row(server, request_id)
    assert row.status == PrivacyRequestStatus.EXPIRED
    assert row.document_enc is None
    assert (await _request(server, token))["userErrors"] == []  # a new export may be asked


async def test_an_export_never_linked_runs_out_after_the_ready_hours(
    server: Server, world: World
) -> None:
    _, request_id = await _ready_export(server, world)
    hours = server.state.settings.privacy_export_ready_hours
    await _job(server, now=utcnow() + timedelta(hours=hours - 1))
    assert (await _row(server, request_id)).status == PrivacyRequestStatus.READY
    await _job(server, now=utcnow() + timedelta(hours=hours, seconds=1))
    row = await _row(server, request_id)
    assert (row.status, row.document_enc) == (PrivacyRequestStatus.EXPIRED, None)


async def test_the_link_lasts_the_configured_seconds(
    server: Server, world: World, settings: Settings
) -> None:
    async with running_app(variant(settings, privacy_export_link_seconds=5)) as short:
        token, request_id = await _ready_export(short, world)
        before = utcnow()
        link = await _link(short, token, request_id)
        expires_at = datetime.fromisoformat(link["expiresAt"])
        assert before + timedelta(seconds=5) <= expires_at <= utcnow() + timedelta(seconds=5)


@pytest.mark.parametrize("staff", ["supervisor", "agent", "admin"])
async def test_staff_can_neither_ask_for_nor_list_exports(
    server: Server, world: World, staff: str
) -> None:
    token = staff_token(server, world, f"demo-{staff}")
    assert _codes(await _request(server, token)) == ["FORBIDDEN"]
    listed = await server.graphql(MINE, token=token)
    assert listed["data"] is None or listed["data"]["myPrivacyRequests"] is None
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_my_privacy_requests_lists_erasures_too(server: Server, world: World) -> None:
    customer_id = await add_customer(server.state, world)
    async with server.state.database.session() as session:
        session.add(PrivacyRequest(customer_id=customer_id, kind=PrivacyRequestKind.ERASURE))
        await session.commit()
    listed = (await server.graphql(MINE, token=customer_token(server, customer_id)))["data"]
    assert [(r["kind"], r["status"], r["expiresAt"]) for r in listed["myPrivacyRequests"]] == [
        ("ERASURE", "PENDING", None)
    ]


async def test_two_downloads_at_once_deliver_the_document_once(
    server: Server, world: World
) -> None:
    token, request_id = await _ready_export(server, world)
    link = await _link(server, token, request_id)
    answers = await asyncio.gather(*(server.client.get(link["url"]) for _ in range(3)))
    assert sorted(answer.status_code for answer in answers) == [200, 410, 410]


async def _erase_key(server: Server, customer_id: uuid.UUID) -> None:
    """The customer erased (``resolvers.privacy.erasure``): their own key destroyed, every
    sealed cell emptied, the row a tombstone, as an approved erasure request leaves them."""
    async with server.state.database.session() as session, audit.chain_lock(session):
        erased = await erase_customers(
            session, server.state.key_ring, [customer_id], staff_event, reason="test"
        )
        await session.commit()
    assert erased == 1


async def test_an_erased_customers_export_is_gone_and_never_produced(
    server: Server, world: World
) -> None:
    # A ready export whose customer was erased: its document can no longer be opened.
    ready_id = await add_customer(server.state, world)
    ready_token = customer_token(server, ready_id)
    request_id = (await _request(server, ready_token))["request"]["id"]
    await _job(server)
    link = await _link(server, ready_token, request_id)
    await _erase_key(server, ready_id)
    gone = await server.client.get(link["url"])
    assert gone.status_code == 410
    assert gone.json()["errors"][0]["extensions"]["code"] == "LINK_GONE"

    # A pending export whose customer was erased: expired by the job, nothing sealed.
    pending_id = await add_customer(server.state, world)
    pending = (await _request(server, customer_token(server, pending_id)))["request"]["id"]
    await _erase_key(server, pending_id)
    await _job(server)
    row = await _row(server, pending)
    assert (row.status, row.document_enc) == (PrivacyRequestStatus.EXPIRED, None)
