"""What someone holding the raw database (a file copy, a dump) can read: no C2 value in clear,
and a ciphertext moved to another row opens nowhere."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

import models
from core.errors import INTERNAL_ERROR_MESSAGE
from core.identity import Role
from models.customers.customer import Customer
from tests.conftest import Server, staff_token
from tests.support import ALICE, World

REVEAL = """
mutation Reveal($input: RevealCustomerPiiInput!) {
  revealCustomerPii(input: $input) { values { field value } userErrors { code message } }
}
"""
BOB_PHONE = "query Bob($id: ID!) { customer(id: $id) { id phone } }"


def _global_id(kind: str, raw: object) -> str:
    import base64

    return base64.b64encode(f"{kind}:{raw}".encode()).decode()


def alices_clear_values() -> dict[str, str]:
    return {
        "name": ALICE.name,
        "phone": ALICE.phone,
        "id number": ALICE.id_number,
        "email": ALICE.email or "",
        "address": ALICE.address or "",
        "birth date": ALICE.birth_date.isoformat(),
        "card number": ALICE.cards[0].pan,
    }


def _file_and_wal(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def _sqlite_bytes(server: Server) -> bytes:
    """The database file (checkpointed) and whatever is still in its write-ahead log."""
    async with server.state.database.engine.connect() as connection:
        await connection.execute(text("PRAGMA wal_checkpoint(FULL)"))
    return _file_and_wal(Path(str(make_url(server.state.database.url).database)))


async def _postgres_dump(server: Server) -> bytes:
    """Every row of every table, each column rendered as text (bytea as hex)."""
    lines: list[str] = []
    async with server.state.database.engine.connect() as connection:
        for table in sorted(models.metadata.tables):
            rows = await connection.execute(text(f'SELECT t::text FROM "{table}" t'))
            lines += [row[0] for row in rows]
    assert lines, "the dump is empty: it would prove nothing"
    return "\n".join(lines).encode()


async def _reveal_alice(server: Server, world: World) -> dict[str, Any]:
    """An audited reveal, by an admin identity of its own (other tests' rate limits stay)."""
    token = server.state.tokens.issue(
        subject=str(uuid.uuid4()),
        role=Role.ADMIN,
        client_id="cardcrm-console",
        username="raw-dump-admin",
    )
    body = await server.graphql(
        REVEAL,
        {
            "input": {
                "customerId": _global_id("Customer", world.alice.id),
                "fields": ["NAME", "PHONE", "EMAIL", "ID_NUMBER", "ADDRESS", "BIRTH_DATE", "PAN"],
                "purpose": "工单 4711：核对客户来电身份与联系方式",
            }
        },
        token=token,
    )
    assert "errors" not in body, body
    return {v["field"]: v["value"] for v in body["data"]["revealCustomerPii"]["values"]}


async def test_the_raw_database_holds_none_of_alices_values_in_clear(
    server: Server, world: World
) -> None:
    revealed = await _reveal_alice(server, world)
    assert revealed["PHONE"] == ALICE.phone  # the clear values did pass through the server

    needles = {name: value.encode() for name, value in alices_clear_values().items()}
    if server.state.database.is_sqlite:
        raw = await _sqlite_bytes(server)
    else:
        raw = await _postgres_dump(server)
        needles |= {
            f"{name} (as bytea)": value.encode().hex().encode()
            for name, value in alices_clear_values().items()
        }
    assert ALICE.cards[0].pan[-4:].encode() in raw, "the dump misses plain columns (last4)"
    found = [name for name, needle in needles.items() if needle in raw]
    assert found == [], f"clear values in the raw database: {found}"


async def test_alices_phone_ciphertext_copied_into_bobs_row_does_not_open(
    server: Server, world: World
) -> None:
    table = Customer.__table__  # type: ignore[attr-defined]
    async with server.state.database.session() as session:
        alice_phone, bob_phone = [
            await session.scalar(select(table.c.phone_enc).where(table.c.id == customer_id))
            for customer_id in (world.alice.id, world.bob.id)
        ]
    assert alice_phone is not None
    assert bob_phone is not None

    async def set_bobs_phone_cell(value: bytes) -> None:
        async with server.state.database.engine.begin() as connection:
            await connection.execute(
                update(table).where(table.c.id == world.bob.id).values(phone_enc=value)
            )

    await set_bobs_phone_cell(alice_phone)
    try:
        response = await server.post(
            BOB_PHONE,
            {"id": _global_id("Customer", world.bob.id)},
            token=staff_token(server, world, "demo-admin"),
        )
    finally:
        await set_bobs_phone_cell(bob_phone)

    assert response.status_code == 200
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert body["errors"][0]["message"] == INTERNAL_ERROR_MESSAGE
    assert body["errors"][0]["path"][-1] == "phone"
    for leak in (ALICE.phone, "138****5678", "Traceback", "DecryptionError", "phone_enc"):
        assert leak not in response.text, leak


async def _bobs_masked_phone(server: Server, world: World) -> str:
    body = await server.graphql(
        BOB_PHONE,
        {"id": _global_id("Customer", world.bob.id)},
        token=staff_token(server, world, "demo-admin"),
    )
    assert "errors" not in body, body
    return str(body["data"]["customer"]["phone"])


async def test_bobs_phone_opens_again_once_his_own_cell_is_back(
    server: Server, world: World
) -> None:
    assert await _bobs_masked_phone(server, world) == "139****5678"
