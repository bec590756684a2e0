"""The bare limit: W1's exact JSON from a minimal starlette + asyncpg + orjson handler.

No GraphQL, no ORM, no per-field resolvers: two SQL statements (a page of customers in the
agent's branch, their cards), a third for the customers' own keys the process has not
opened yet (none once they are), AES-GCM opening through ``core.encryption.KeyRing`` and the
product's masking (``auth.masking``), then one ``orjson.dumps``. What cardcrm does per request
beyond this is the price of its generality; the benchmark reports cardcrm's W1 rate as a
ratio to this one.

``/w1-plain`` answers the same page in the same shape from the plain-text twins
(``bench.plain_twins``, schema ``plain``) with the same two statements, no decryption and
no masking: the difference between the two routes is what sealing and masking cost W1.

    CARDCRM_DATABASE_URL=postgresql+asyncpg://... CARDCRM_MASTER_KEY=... \
    BARE_BRANCH_ID=<uuid> uvicorn --factory bench.bare:app_from_environment --port 8001

The caller is fixed (an agent of ``BARE_BRANCH_ID``) and no token is verified: the limit
leaves out authentication on purpose (cardcrm's RS256 check is ~0.1 ms of its request).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.masking import mask_id_number, mask_name, mask_pan, mask_phone
from bench.customer_keys import open_customer_keys
from bench.workloads import W1_PAGE_SIZE
from core.database import Database
from core.encryption import KeyRing, aad_for
from core.money import yuan
from core.settings import Settings
from models.key_store import load_key_ring, master_key_from_settings
from schema.relay import to_global_id

SEALED_PAGE_SQL = """
SELECT id, name_enc AS name, phone_enc AS phone, id_number_enc AS id_number, tier_id
FROM customers WHERE branch_id = $1 AND erased_at IS NULL
ORDER BY created_at DESC, id DESC LIMIT $2
"""
SEALED_CARDS_SQL = """
SELECT customer_id, id, pan_enc AS pan, credit_limit_cents
FROM cards WHERE customer_id = ANY($1::uuid[])
ORDER BY created_at, id
"""
# The same statements over ``bench.plain_twins``' clear columns.
PLAIN_PAGE_SQL = """
SELECT id, name, phone, id_number, tier_id
FROM plain.customers WHERE branch_id = $1 AND erased_at IS NULL
ORDER BY created_at DESC, id DESC LIMIT $2
"""
PLAIN_CARDS_SQL = """
SELECT customer_id, id, pan, credit_limit_cents
FROM plain.cards WHERE customer_id = ANY($1::uuid[])
ORDER BY created_at, id
"""

# What an agent sees of each C2 field W1 shows (auth.policy: masked for staff; PANs strictly).
MASKS: dict[tuple[str, str], Callable[[str], str]] = {
    ("customers", "name"): mask_name,
    ("customers", "phone"): mask_phone,
    ("customers", "id_number"): mask_id_number,
    ("cards", "pan"): partial(mask_pan, strict=True),
}

# (table, field, row id, stored value) -> the value W1 shows.
Show = Callable[[str, str, uuid.UUID, Any], str | None]


@dataclass
class Bare:
    pool: asyncpg.Pool
    ring: KeyRing
    branch_id: uuid.UUID
    tier_codes: dict[uuid.UUID, str]


def opened_and_masked(ring: KeyRing) -> Show:
    """The sealed route: opens the ``<field>_enc`` cell in its place, then masks it."""

    def show(table: str, field: str, row_id: uuid.UUID, sealed: bytes | None) -> str | None:
        if sealed is None:
            return None
        return MASKS[table, field](ring.open(sealed, aad_for(table, f"{field}_enc", row_id)))

    return show


def as_stored(table: str, field: str, row_id: uuid.UUID, clear: str | None) -> str | None:
    """The plain route: the twin's clear value, shown as it is."""
    return clear


def w1_body(
    customers: Sequence[Mapping[str, Any]],
    cards: Sequence[Mapping[str, Any]],
    tier_codes: Mapping[uuid.UUID, str],
    show: Show,
) -> dict[str, Any]:
    """W1's response body (cardcrm's JSON shape) from the page's rows and their cards."""
    cards_of: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for card in cards:
        cards_of.setdefault(card["customer_id"], []).append(
            {
                "pan": show("cards", "pan", card["id"], card["pan"]),
                "creditLimit": str(yuan(card["credit_limit_cents"])),
            }
        )
    edges = []
    for row in customers:
        row_id = row["id"]
        edges.append(
            {
                "node": {
                    "id": to_global_id("Customer", row_id),
                    "name": show("customers", "name", row_id, row["name"]),
                    "phone": show("customers", "phone", row_id, row["phone"]),
                    "idNumber": show("customers", "id_number", row_id, row["id_number"]),
                    "tier": {"code": tier_codes[row["tier_id"]].upper()},
                    "cards": cards_of.get(row_id, []),
                }
            }
        )
    return {"data": {"customers": {"edges": edges}}}


async def _rows(
    bare: Bare, page_sql: str, cards_sql: str, first: int
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    async with bare.pool.acquire() as connection:
        customers = await connection.fetch(page_sql, bare.branch_id, first)
        cards = await connection.fetch(cards_sql, [row["id"] for row in customers])
        if page_sql is SEALED_PAGE_SQL:  # the page's customers' own keys, as cardcrm opens them
            await open_customer_keys(connection, bare.ring, [row["id"] for row in customers])
    return customers, cards


async def page(bare: Bare, first: int) -> dict[str, Any]:
    """W1's response body for a page of ``first`` customers, as cardcrm returns it."""
    customers, cards = await _rows(bare, SEALED_PAGE_SQL, SEALED_CARDS_SQL, first)
    return w1_body(customers, cards, bare.tier_codes, opened_and_masked(bare.ring))


async def plain_page(bare: Bare, first: int) -> dict[str, Any]:
    """The same page from the plain twins: no decryption, no masking (``/w1`` minus this is
    what sealing costs W1)."""
    customers, cards = await _rows(bare, PLAIN_PAGE_SQL, PLAIN_CARDS_SQL, first)
    return w1_body(customers, cards, bare.tier_codes, as_stored)


def _first(body: bytes) -> int:
    """``variables.first`` of a W1 request body (50 for a GET or an empty body)."""
    variables = orjson.loads(body or b"{}").get("variables") or {}
    return int(variables.get("first", W1_PAGE_SIZE))


async def w1(request: Request) -> Response:
    first = _first(await request.body()) if request.method == "POST" else W1_PAGE_SIZE
    body = await page(request.app.state.bare, first)
    return Response(orjson.dumps(body), media_type="application/json")


async def w1_plain(request: Request) -> Response:
    first = _first(await request.body()) if request.method == "POST" else W1_PAGE_SIZE
    body = await plain_page(request.app.state.bare, first)
    return Response(orjson.dumps(body), media_type="application/json")


async def open_bare(database_url: str, master_key: str, branch_id: uuid.UUID) -> Bare:
    settings = Settings(database_url=database_url, master_key=master_key)
    database = Database(settings.sqlalchemy_url)
    try:
        async with database.session() as session:
            ring = await load_key_ring(session, master_key_from_settings(settings))
    finally:
        await database.dispose()
    dsn = make_url(settings.sqlalchemy_url).set(drivername="postgresql")
    pool = await asyncpg.create_pool(dsn.render_as_string(hide_password=False), min_size=2)
    rows = await pool.fetch("SELECT id, code FROM tiers")
    return Bare(pool, ring, branch_id, {row["id"]: row["code"] for row in rows})


def create_app(database_url: str, master_key: str, branch_id: uuid.UUID) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.bare = await open_bare(database_url, master_key, branch_id)
        yield
        await app.state.bare.pool.close()

    routes = [
        Route("/w1", w1, methods=["GET", "POST"]),
        Route("/w1-plain", w1_plain, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def app_from_environment() -> Starlette:
    return create_app(
        os.environ["CARDCRM_DATABASE_URL"],
        os.environ["CARDCRM_MASTER_KEY"],
        uuid.UUID(os.environ["BARE_BRANCH_ID"]),
    )
