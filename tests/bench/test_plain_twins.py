"""The plain-text twins (bench/plain_twins.py) hold exactly what cardcrm decrypts, and the
bare handler's ``/w1-plain`` serves W1 from them: the same page as ``/w1``, in clear.

PostGraphile itself is not installed here (the suite stays offline); ``python -m
bench.postgraphile_check`` runs it against cardcrm."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from sqlmodel import col, select

from bench.bare import MASKS, create_app
from bench.dataset import AS_OF, Sizes, bench_settings, build_database
from bench.plain_twins import TWINS, add_plain_twins, asyncpg_dsn
from core.database import Database
from core.encryption import KeyRing
from core.request_database import RequestDatabase
from models.cards.card import Card
from models.customer_keys import load_customer_keys
from models.customers.customer import Customer
from models.key_store import load_key_ring, master_key_from_settings
from models.organisation.organisation import StaffUser
from models.sealing import open_field
from models.service_desk.complaint import Complaint, ComplaintStatus
from models.service_desk.interaction import Interaction
from resolvers.growth.evaluation import evaluate_customers
from resolvers.growth.recommendation import Recommender
from resolvers.service_desk.sla import is_overdue
from tests.support import create_postgres_database, drop_postgres_database, postgres_admin_url

SCALE = 0.002  # 200 customers, 300 cards, 600 interactions, 40 complaints, 10 offers
VARIED_COMPLAINTS = """
UPDATE plain.complaints SET
    status = (ARRAY['open', 'acknowledged', 'in_progress', 'resolved', 'closed'])[
        1 + abs(hashtext(id::text)) % 5],
    due_at = due_at + (abs(hashtext(id::text) / 5) % 2) * interval '3650 days'
"""
SEALED: dict[type[Any], tuple[str, ...]] = {
    Customer: ("name", "phone", "id_number", "email", "birth_date"),
    Card: ("pan",),
    Interaction: ("notes",),
    Complaint: ("description",),
}


@dataclass(frozen=True)
class Twinned:
    url: str
    master_key: str
    branch_id: uuid.UUID  # demo-agent's
    ring: KeyRing


@pytest.fixture(scope="module")
async def twinned() -> AsyncIterator[Twinned]:
    """A small benchmark dataset, evaluated once (so offers have spend to rank by), with
    its plain twins."""
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL is not reachable")
    name = f"cardcrm_twins_{uuid.uuid4().hex[:10]}"
    url = create_postgres_database(admin, name)
    master_key = base64.b64encode(os.urandom(32)).decode()
    database = Database(url)
    try:
        await build_database(url, master_key, Sizes().scaled(SCALE))
        settings = bench_settings(url, master_key)
        await evaluate_customers(
            database=database, settings=settings, audit_event=None, as_of=AS_OF
        )
        await add_plain_twins(url, master_key)
        async with database.session() as session:
            ring = await load_key_ring(session, master_key_from_settings(settings))
            agent = (
                await session.scalars(
                    select(StaffUser).where(col(StaffUser.username) == "demo-agent")
                )
            ).one()
        assert agent.branch_id is not None
        yield Twinned(url, master_key, agent.branch_id, ring)
    finally:
        await database.dispose()
        drop_postgres_database(admin, name)


async def _plain_rows(url: str, table: str) -> dict[uuid.UUID, Any]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return {row["id"]: row for row in await connection.fetch(f"SELECT * FROM plain.{table}")}
    finally:
        await connection.close()


async def test_every_twin_holds_every_row_and_the_clear_values_cardcrm_opens(
    twinned: Twinned,
) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(twinned.url))
    try:
        for table in TWINS:
            public = await connection.fetchval(f"SELECT count(*) FROM public.{table}")
            plain = await connection.fetchval(f"SELECT count(*) FROM plain.{table}")
            assert (table, plain) == (table, public)
            assert plain > 0, table
    finally:
        await connection.close()
    database = Database(twinned.url)
    try:
        for model, fields in SEALED.items():
            twins = await _plain_rows(twinned.url, model.__tablename__)  # type: ignore[attr-defined]
            async with database.session() as session:
                rows: list[Any] = list((await session.scalars(select(model))).all())
                owners = {getattr(row, "customer_id", row.id) for row in rows}
                await load_customer_keys(session, twinned.ring, owners)
            assert rows
            for row in rows:
                for field in fields:
                    clear = open_field(twinned.ring, row, field)
                    twin = twins[row.id][field]
                    assert (None if twin is None else str(twin)) == clear, (model, field)
            assert all(open_field(twinned.ring, row, fields[0]) for row in rows), model
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
async def bare_url(twinned: Twinned) -> AsyncIterator[str]:
    """The bare handler under uvicorn, over HTTP, as the benchmark runs it."""
    app = create_app(twinned.url, twinned.master_key, twinned.branch_id)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


def _masked(node: dict[str, Any]) -> dict[str, Any]:
    shown = {
        "name": MASKS["customers", "name"](node["name"]),
        "phone": MASKS["customers", "phone"](node["phone"]),
        "idNumber": MASKS["customers", "id_number"](node["idNumber"]),
        "cards": [{**c, "pan": MASKS["cards", "pan"](c["pan"])} for c in node["cards"]],
    }
    return {**node, **shown}


async def test_w1_plain_is_the_w1_page_in_clear(twinned: Twinned, bare_url: str) -> None:
    # given the same W1 request to both routes
    body = {"variables": {"first": 50}}
    async with httpx.AsyncClient(base_url=bare_url) as client:
        sealed = (await client.post("/w1", json=body)).json()["data"]["customers"]["edges"]
        plain = (await client.post("/w1-plain", json=body)).json()["data"]["customers"]["edges"]
    # then the same customers, in the same order, with the same tiers and cards
    assert len(plain) > 5
    assert [e["node"]["id"] for e in plain] == [e["node"]["id"] for e in sealed]
    assert [e["node"]["tier"] for e in plain] == [e["node"]["tier"] for e in sealed]
    assert [len(e["node"]["cards"]) for e in plain] == [len(e["node"]["cards"]) for e in sealed]
    # in clear on /w1-plain, and masked as the agent sees them on /w1
    assert all("*" not in e["node"]["phone"] for e in plain)
    assert all(len(c["pan"]) >= 16 for e in plain for c in e["node"]["cards"])
    assert [_masked(e["node"]) for e in plain] == [e["node"] for e in sealed]


async def test_the_sql_recommended_offers_are_cardcrm_s(twinned: Twinned) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(twinned.url))
    try:
        rows = await connection.fetch(
            "SELECT c.id, r.offer_id, r.affinity FROM plain.customers c"
            " CROSS JOIN LATERAL plain.customers_recommended_offers(c) WITH ORDINALITY r"
            " ORDER BY c.id, r.ordinality"
        )
    finally:
        await connection.close()
    ours: dict[uuid.UUID, list[tuple[uuid.UUID, float]]] = {}
    for row in rows:
        ours.setdefault(row["id"], []).append((row["offer_id"], row["affinity"]))
    database = Database(twinned.url)
    try:
        async with database.session() as session:
            ids = list((await session.scalars(select(col(Customer.id)))).all())
            loader = Recommender(RequestDatabase(session))
            ranked = await loader.for_customers(ids)
    finally:
        await database.dispose()
    cardcrm = {
        customer: [(r.offer.id, r.affinity) for r in recommendations]
        for customer, recommendations in zip(ids, ranked, strict=True)
        if recommendations
    }
    assert len(cardcrm) > 10
    assert ours == cardcrm


async def test_the_sql_is_overdue_is_cardcrm_s(twinned: Twinned) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(twinned.url))
    transaction = connection.transaction()
    await transaction.start()
    try:
        # given twins in every status, some due in ten years (rolled back below)
        await connection.execute(VARIED_COMPLAINTS)
        rows = await connection.fetch(
            "SELECT status, due_at, plain.complaints_is_overdue(c) AS overdue"
            " FROM plain.complaints c"
        )
    finally:
        await transaction.rollback()
        await connection.close()
    # then the SQL column says what cardcrm's is_overdue says of the same complaint
    expected = [
        is_overdue(Complaint.model_construct(status=r["status"], due_at=r["due_at"])) for r in rows
    ]
    assert [r["overdue"] for r in rows] == expected
    assert {True, False} <= set(expected)
    assert {r["status"] for r in rows} == set(ComplaintStatus)
