"""The bare limit: W1's exact JSON from a minimal starlette + asyncpg + orjson handler.

No GraphQL, no ORM, no per-field resolvers: two SQL statements (a page of customers in the
agent's branch, their cards), AES-GCM opening through ``models.encryption.KeyRing`` and the
product's masking (``auth.masking``), then one ``orjson.dumps``. What cardcrm does per request
beyond this is the price of its generality; the benchmark reports cardcrm's W1 rate as a
ratio to this one.

    CARDCRM_DATABASE_URL=postgresql+asyncpg://... CARDCRM_MASTER_KEY=... \
    BARE_BRANCH_ID=<uuid> uvicorn bench.bare:app --port 8001

The caller is fixed (an agent of ``BARE_BRANCH_ID``) and no token is verified: the limit
leaves out authentication on purpose (cardcrm's RS256 check is ~0.1 ms of its request).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.db import Database
from api.settings import Settings
from auth.masking import mask_id_number, mask_name, mask_pan, mask_phone
from models.encryption import KeyRing, aad_for
from models.key_store import load_key_ring, master_key_from_settings
from schema.money import yuan
from schema.relay import to_global_id

PAGE_SQL = """
SELECT id, name_enc, phone_enc, id_number_enc, tier_id
FROM customers WHERE branch_id = $1
ORDER BY created_at DESC, id DESC LIMIT $2
"""
CARDS_SQL = """
SELECT customer_id, id, pan_enc, credit_limit_cents
FROM cards WHERE customer_id = ANY($1::uuid[])
ORDER BY created_at, id
"""


@dataclass
class Bare:
    pool: asyncpg.Pool
    ring: KeyRing
    branch_id: uuid.UUID
    tier_codes: dict[uuid.UUID, str]


def _open(ring: KeyRing, table: str, column: str, row_id: uuid.UUID, sealed: bytes | None) -> Any:
    return None if sealed is None else ring.open(sealed, aad_for(table, column, row_id))


def _masked(value: str | None, masker: Any) -> str | None:
    return None if value is None else str(masker(value))


async def page(bare: Bare, first: int) -> dict[str, Any]:
    """W1's response body for a page of ``first`` customers, as cardcrm returns it."""
    async with bare.pool.acquire() as connection:
        customers = await connection.fetch(PAGE_SQL, bare.branch_id, first)
        cards = await connection.fetch(CARDS_SQL, [row["id"] for row in customers])
    ring = bare.ring
    cards_of: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for card in cards:
        pan = _open(ring, "cards", "pan_enc", card["id"], card["pan_enc"])
        cards_of.setdefault(card["customer_id"], []).append(
            {
                "pan": None if pan is None else mask_pan(pan, strict=True),
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
                    "name": _masked(
                        _open(ring, "customers", "name_enc", row_id, row["name_enc"]), mask_name
                    ),
                    "phone": _masked(
                        _open(ring, "customers", "phone_enc", row_id, row["phone_enc"]), mask_phone
                    ),
                    "idNumber": _masked(
                        _open(ring, "customers", "id_number_enc", row_id, row["id_number_enc"]),
                        mask_id_number,
                    ),
                    "tier": {"code": bare.tier_codes[row["tier_id"]].upper()},
                    "cards": cards_of.get(row_id, []),
                }
            }
        )
    return {"data": {"customers": {"edges": edges}}}


async def w1(request: Request) -> Response:
    bare: Bare = request.app.state.bare
    first = 50
    if request.method == "POST":
        body = orjson.loads(await request.body() or b"{}")
        first = int((body.get("variables") or {}).get("first", first))
    return Response(orjson.dumps(await page(bare, first)), media_type="application/json")


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

    return Starlette(routes=[Route("/w1", w1, methods=["GET", "POST"])], lifespan=lifespan)


def app_from_environment() -> Starlette:
    return create_app(
        os.environ["CARDCRM_DATABASE_URL"],
        os.environ["CARDCRM_MASTER_KEY"],
        uuid.UUID(os.environ["BARE_BRANCH_ID"]),
    )
