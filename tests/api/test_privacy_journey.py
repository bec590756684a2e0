"""The customer's privacy rights end to end (issue 16, "Done when"): a customer created through
the API, who used and repaid their card, called and complained, takes an export of their data
and then asks to be erased.

Given the export, downloaded once before the erasure, holding every C2 field in clear, and a
copy of every sealed cell of theirs taken before (a backup), when their branch's supervisor
approves the erasure, then no key this bank holds opens any of those copies any more: not
one of the data keys, not one of the other customers' keys, not a ring loaded afresh with
the master key. The growth and service figures are what they were, and ``cardcrm audit
verify`` passes.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import func, select
from sqlmodel import SQLModel, col

from core.encryption import (
    DATA_KEY,
    NONCE_BYTES,
    DecryptionError,
    aad_for,
    customer_of,
    key_wrap_context,
)
from core.settings import Settings
from models.columns import encrypted_columns
from models.customer_keys import load_customer_keys
from models.key_store import load_key_ring, master_key_from_settings
from models.keys import CustomerKey, EncryptionKey
from models.privacy.subjects import SUBJECTS
from models.tasks.task import StaffTask
from schema.relay import uuid_of
from tests.api.test_data_export import (
    CREATE,
    LINK,
    _new_customer,
    c2_fields_given,
    c2_fields_of,
)
from tests.api.test_data_export import REQUEST as EXPORT
from tests.conftest import Server, customer_token, staff_token
from tests.models.conftest import FreshDatabase
from tests.resolvers.privacy.support_erasure import book
from tests.schema.privacy.test_erasure import (
    CARDS,
    CLOSE,
    FIGURES,
    LOG,
    REQUEST,
    _call,
    _decide,
    _resolved_complaint,
)
from tests.security.conftest import running_app, variant
from tests.support import World

pytestmark = pytest.mark.slow

HEADER_BYTES = 17  # format byte and the customer's id (core.encryption, format 2)
SERVICE = """
query($from: DateTime!, $to: DateTime!) {
  analytics { service(range: {from: $from, to: $to}) {
    complaintCount countsByStatus { key count } activeCustomers resolvedCount slaCompliance
  } }
}
"""
ACTIVATE = """
mutation($input: CardActionInput!) { activateCard(input: $input) { userErrors { code message } } }
"""
LIST = "{ customers(first: 100) { edges { node { id } } } }"
ERASED = "query($id: ID!) { customer(id: $id) { id erasedAt name } }"
Backup = dict[tuple[str, str, uuid.UUID], bytes]


async def _backup(server: Server, customer_id: uuid.UUID) -> Backup:
    """Every sealed cell of the customer's rows, copied as a backup would hold it."""
    cells: Backup = {}
    async with server.state.database.session() as session:
        for table, column in encrypted_columns(SQLModel.metadata):
            path = SUBJECTS.get(table.name)
            if path is None:
                continue
            mine = path.owner(table) == customer_id
            rows = await session.execute(
                select(table.c.id, table.c[column]).where(mine, table.c[column].is_not(None))
            )
            cells.update({(table.name, column, row_id): value for row_id, value in rows})
    return cells


async def _every_cipher(server: Server, settings: Settings) -> list[AESGCM]:
    """Every key the bank's database holds, opened with the master key: each data key, and
    each customer key still stored."""
    master = master_key_from_settings(settings)
    async with server.state.database.session() as session:
        ring = await load_key_ring(session, master)
        data_keys = await session.scalars(
            select(EncryptionKey).where(col(EncryptionKey.purpose) == DATA_KEY)
        )
        ciphers = [
            AESGCM(master.unwrap(k.wrapped_key, context=key_wrap_context(DATA_KEY, k.version)))
            for k in data_keys
        ]
        stored = list(await session.scalars(select(CustomerKey)))
    for key in stored:
        ring.open_customer_key(key.customer_id, key.data_key_version, key.wrapped_key)
        cipher = ring.customer_keys.get(key.customer_id)
        assert cipher is not None
        ciphers.append(cipher)
    return ciphers


def _opens_with(cipher: AESGCM, cell: tuple[str, str, uuid.UUID], sealed: bytes) -> bool:
    body, header = sealed[HEADER_BYTES:], sealed[:HEADER_BYTES]
    try:
        cipher.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], header + aad_for(*cell))
    except InvalidTag:
        return False
    return True


async def _fresh_ring_opens(server: Server, settings: Settings, backup: Backup) -> int:
    """How many copies a ring loaded afresh (master key, stored keys) opens."""
    async with server.state.database.session() as session:
        ring = await load_key_ring(session, master_key_from_settings(settings))
        owners = {owner for sealed in backup.values() if (owner := customer_of(sealed))}
        for owner in owners:
            ring.forget_customer(owner)
        await load_customer_keys(session, ring, owners)
    opened = 0
    for cell, sealed in backup.items():
        try:
            ring.open(sealed, aad_for(*cell))
        except DecryptionError:
            continue
        opened += 1
    return opened


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def _figures(server: Server, world: World) -> dict[str, Any]:
    admin = staff_token(server, world, "demo-admin")
    now = datetime.now(UTC)
    year = {
        "from": (now - timedelta(days=300)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
    }
    growth = await server.graphql(FIGURES, year, token=admin)
    service = await server.graphql(SERVICE, year, token=admin)
    assert "errors" not in growth, growth
    assert "errors" not in service, service
    return {"growth": growth["data"], "service": service["data"]}


async def _exported(server: Server, settings: Settings, token: str) -> dict[str, Any]:
    asked = (await server.graphql(EXPORT, token=token))["data"]["requestMyDataExport"]
    assert asked["userErrors"] == [], asked
    job = await FreshDatabase(settings).run_cli("privacy", "exports", "--once")
    assert job.returncode == 0, job.stderr
    linked = (await server.graphql(LINK, {"id": asked["request"]["id"]}, token=token))["data"]
    download = await server.client.get(linked["createMyDataExportLink"]["url"])
    assert download.status_code == 200, download.text
    document: dict[str, Any] = orjson.loads(download.content)
    return document


async def test_an_erased_customers_values_open_under_no_key_and_nothing_else_changes(
    server: Server, world: World, settings: Settings
) -> None:
    # Given a customer created through the API, who spent and repaid, called and complained,
    data = _new_customer(random.Random(1616))
    agent = staff_token(server, world, "demo-agent")
    created = await server.graphql(CREATE, {"input": data}, token=agent)
    assert created["data"]["createCustomer"]["userErrors"] == [], created
    customer_gid = created["data"]["createCustomer"]["customer"]["id"]
    customer_id = uuid_of(customer_gid, "Customer")
    supervisor = staff_token(server, world, "demo-supervisor")
    logged = await server.graphql(LOG, {"input": _call(customer_gid)}, token=supervisor)
    assert logged["data"]["logInteraction"]["userErrors"] == [], logged
    await _resolved_complaint(server, supervisor, customer_gid)
    token = customer_token(server, customer_id)
    cards = await server.graphql(
        "query($id: ID!) { customer(id: $id) { cards { id version } } }",
        {"id": customer_gid},
        token=agent,
    )
    card = cards["data"]["customer"]["cards"][0]
    activated = await server.graphql(
        ACTIVATE, {"input": {"cardId": card["id"], "version": card["version"]}}, token=token
    )
    assert activated["data"]["activateCard"]["userErrors"] == [], activated
    await book(
        server.state.database,
        server.state.key_ring,
        uuid_of(card["id"], "Card"),
        [
            ("purchase", "800.00", _days_ago(60)),
            ("repayment", "800.00", _days_ago(30)),
        ],
    )

    # who takes an export of their data first (it holds every C2 field in clear),
    document = await _exported(server, settings, token)
    assert c2_fields_of(document["tables"]["customers"]) == c2_fields_given(data)
    assert [i["notes"] for i in document["tables"]["interactions"]] == [
        _call(customer_gid)["notes"]
    ]
    assert [c["description"] for c in document["tables"]["complaints"]] == ["年费扣错了"]
    pan = data["cards"][0]["pan"]
    assert document["tables"]["cards"][0]["pan_masked"] == pan[:6] + "******" + pan[-4:]

    # has their card closed and asks to be erased; a backup holds every sealed cell of theirs,
    card = (await server.graphql(CARDS, {"id": customer_gid}, token=supervisor))["data"][
        "customer"
    ]["cards"][0]
    closed = await server.graphql(
        CLOSE,
        {"input": {"cardId": card["id"], "version": card["version"], "reason": "客户要求销户"}},
        token=supervisor,
    )
    assert closed["data"]["closeCard"]["card"] == {"status": "CLOSED"}, closed
    backup = await _backup(server, customer_id)
    tables = {table for table, _, _ in backup}
    assert {"customers", "cards", "card_events", "interactions", "complaints"} <= tables
    assert {customer_of(sealed) for sealed in backup.values()} == {customer_id}
    assert await _fresh_ring_opens(server, settings, backup) == len(backup)
    figures = await _figures(server, world)
    asked = (await server.graphql(REQUEST, token=token))["data"]["requestErasure"]
    assert asked["userErrors"] == [], asked

    # when their branch's supervisor approves (a bank keeping nothing after the relationship),
    async with running_app(variant(settings, privacy_retention_years=0)) as bank:
        erased = await _decide(bank, supervisor, asked["erasureRequest"], approve=True)
    assert erased["userErrors"] == [], erased

    # then no key the bank holds opens any copy: no data key, no other customer's key, and
    # no ring loaded afresh with the master key,
    ciphers = await _every_cipher(server, settings)
    assert len(ciphers) > 2  # the data key and the demo's other customers' keys
    opened = [
        (cell, c)
        for cell, sealed in backup.items()
        for c in ciphers
        if _opens_with(c, cell, sealed)
    ]
    assert opened == []
    assert await _fresh_ring_opens(server, settings, backup) == 0

    # the tombstone is in no list (its records still read it by id), no task is made about
    # it (the resolved complaint would have brought a follow-up call),
    listed = await server.graphql(LIST, token=agent)
    assert customer_gid not in {e["node"]["id"] for e in listed["data"]["customers"]["edges"]}
    read = await server.graphql(ERASED, {"id": customer_gid}, token=agent)
    assert read["data"]["customer"]["erasedAt"] is not None, read
    follow_up_day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    generated = await FreshDatabase(settings).run_cli("tasks", "generate", "--as-of", follow_up_day)
    assert generated.returncode == 0, generated.stderr
    async with server.state.database.session() as session:
        tasks = await session.scalar(
            select(func.count())
            .select_from(StaffTask)
            .where(col(StaffTask.customer_id) == customer_id)
        )
    assert tasks == 0

    # the figures are what they were, and the audit chain verifies.
    assert await _figures(server, world) == figures
    verified = await FreshDatabase(settings).run_cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
