"""Data-key rotation and online re-encryption, on a database of the test's own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update
from sqlmodel import col

import models
from api.demo.seed import seed_demo
from core.database import Database
from core.encryption import DATA_KEY, KeyRing, aad_for, customer_of, key_version_of
from models.columns import encrypted_columns
from models.customer_keys import load_customer_keys
from models.key_store import (
    RetireRefused,
    count_sealed_values,
    load_key_ring,
    master_key_from_settings,
    reencrypt,
    retire,
    rotate,
    sealed_counts,
)
from models.keys import CustomerKey, EncryptionKey
from tests.models.conftest import FreshDatabase

CUSTOMERS = 12
LEGACY_CUSTOMERS = 3
BATCH = 5

Cell = tuple[str, str, uuid.UUID]  # table, column, row id
Keys = dict[uuid.UUID, tuple[int, bytes]]  # customer id -> (wrapping version, wrapped key)


@dataclass
class Seeded:
    fresh: FreshDatabase
    database: Database
    ring: KeyRing  # the ring the data was sealed with (data key v1 only)
    legacy: set[Cell]  # values still under data key v1, as before keys were per customer


async def _make_legacy(database: Database, ring: KeyRing) -> set[Cell]:
    """Seals the first customers' own cells under the data key again, as every value was
    before migration 0017: re-encryption moves them under their customer's key."""
    legacy: set[Cell] = set()
    customers = models.metadata.tables["customers"]
    async with database.session() as session:
        rows = (
            await session.execute(
                select(customers).order_by(customers.c.id).limit(LEGACY_CUSTOMERS)
            )
        ).mappings()
        for row in list(rows):
            values = {}
            for _, column in [c for c in encrypted_columns(models.metadata) if c[0] is customers]:
                if row[column] is not None:
                    aad = aad_for("customers", column, row["id"])
                    values[column] = ring.seal(ring.open(row[column], aad), aad)
                    legacy.add(("customers", column, row["id"]))
            await session.execute(
                update(customers).where(customers.c.id == row["id"]).values(values)
            )
        await session.commit()
    return legacy


@pytest.fixture
async def seeded(fresh_database: FreshDatabase) -> AsyncIterator[Seeded]:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            await seed_demo(session, ring, customers=CUSTOMERS, seed=3)
        legacy = await _make_legacy(database, ring)
        yield Seeded(fresh_database, database, ring, legacy)


async def sealed_cells(database: Database) -> dict[Cell, bytes]:
    """Every encrypted cell of every table, found from the metadata."""
    cells: dict[Cell, bytes] = {}
    async with database.session() as session:
        for table, column in encrypted_columns(models.metadata):
            rows = await session.execute(
                select(table.c.id, table.c[column]).where(table.c[column].is_not(None))
            )
            cells.update({(table.name, column, row_id): value for row_id, value in rows})
    return cells


async def stored_keys(database: Database) -> Keys:
    async with database.session() as session:
        rows = await session.scalars(select(CustomerKey))
        return {row.customer_id: (row.data_key_version, row.wrapped_key) for row in rows}


async def opened(ring: KeyRing, database: Database, cells: dict[Cell, bytes]) -> dict[Cell, str]:
    """The clear values, each customer's key opened from the database first."""
    async with database.session() as session:
        await load_customer_keys(
            session, ring, {c for v in cells.values() if (c := customer_of(v))}
        )
    return {cell: ring.open(value, aad_for(*cell)) for cell, value in cells.items()}


def versions(cells: dict[Cell, bytes], keys: Keys) -> set[int | None]:
    """The data-key versions under which anything is sealed: values, and customer keys."""
    return {key_version_of(value) for value in cells.values()} - {None} | {
        version for version, _ in keys.values()
    }


def under_customer_keys(cells: dict[Cell, bytes]) -> set[Cell]:
    return {cell for cell, value in cells.items() if customer_of(value) is not None}


async def rotated_ring(seeded: Seeded) -> KeyRing:
    async with seeded.database.session() as session:
        await rotate(session, master_key_from_settings(seeded.fresh.settings))
    return await seeded.fresh.key_ring(seeded.database)


class Interrupted(Exception):
    """Stands for the crash of a re-encryption run."""


async def test_rotate_adds_data_key_v2_and_makes_it_active(seeded: Seeded) -> None:
    async with seeded.database.session() as session:
        version = await rotate(session, master_key_from_settings(seeded.fresh.settings))
        stored = (
            await session.scalars(
                select(col(EncryptionKey.version)).where(col(EncryptionKey.purpose) == DATA_KEY)
            )
        ).all()
    assert version == 2
    assert sorted(stored) == [1, 2]
    ring = await seeded.fresh.key_ring(seeded.database)
    assert ring.versions == (1, 2)
    assert ring.active_version == 2


async def test_the_seeded_data_covers_customers_and_cards(seeded: Seeded) -> None:
    cells = await sealed_cells(seeded.database)
    keys = await stored_keys(seeded.database)
    tables = {table for table, _, _ in cells}
    assert {"customers", "cards"} <= tables
    assert len(keys) == CUSTOMERS
    assert under_customer_keys(cells) == cells.keys() - seeded.legacy
    assert len(cells) + len(keys) == await count_sealed_values(seeded.database)
    assert versions(cells, keys) == {1}


async def test_reencrypt_rewraps_the_customer_keys_and_moves_old_values_under_them(
    seeded: Seeded,
) -> None:
    before = await sealed_cells(seeded.database)
    keys_before = await stored_keys(seeded.database)
    ring = await rotated_ring(seeded)

    report = await reencrypt(seeded.database, ring, batch_size=BATCH)

    after = await sealed_cells(seeded.database)
    keys_after = await stored_keys(seeded.database)
    assert report.examined == len(before) + len(keys_before)
    assert report.reencrypted == len(seeded.legacy) + len(keys_before)
    assert after.keys() == before.keys()
    assert under_customer_keys(after) == after.keys()
    # Values under a customer's key are not touched: rotation reaches them through the key.
    assert {c: after[c] for c in after.keys() - seeded.legacy} == {
        c: before[c] for c in before.keys() - seeded.legacy
    }
    assert versions(after, keys_after) == {2}
    assert await opened(ring, seeded.database, after) == await opened(
        seeded.ring, seeded.database, before
    )


async def test_a_second_reencrypt_run_has_nothing_left_to_do(seeded: Seeded) -> None:
    ring = await rotated_ring(seeded)
    first = await reencrypt(seeded.database, ring, batch_size=BATCH)
    moved = await sealed_cells(seeded.database)

    second = await reencrypt(seeded.database, ring, batch_size=BATCH)

    # Every value is examined again; the customer keys are all under v2 already.
    assert second.examined == len(moved) == first.examined - len(await stored_keys(seeded.database))
    assert second.reencrypted == 0
    assert await sealed_cells(seeded.database) == moved


async def test_an_interrupted_reencrypt_run_completes_when_run_again(seeded: Seeded) -> None:
    before = await sealed_cells(seeded.database)
    keys = await stored_keys(seeded.database)
    ring = await rotated_ring(seeded)
    crashed_in: list[str] = []

    def crash_at_the_first_legacy_batch(column: str, rows: int) -> None:
        if column.startswith("customers."):
            crashed_in.append(column)
            raise Interrupted(column)

    with pytest.raises(Interrupted):
        await reencrypt(
            seeded.database, ring, batch_size=BATCH, on_batch=crash_at_the_first_legacy_batch
        )
    halfway = await sealed_cells(seeded.database)
    moved = {cell for cell in seeded.legacy if customer_of(halfway[cell]) is not None}
    assert 0 < len(moved) < len(seeded.legacy)

    rerun = await reencrypt(seeded.database, ring, batch_size=BATCH)

    after = await sealed_cells(seeded.database)
    assert rerun.reencrypted == len(seeded.legacy) - len(moved) + len(keys)
    assert versions(after, await stored_keys(seeded.database)) == {2}
    assert await opened(ring, seeded.database, after) == await opened(
        seeded.ring, seeded.database, before
    )


def _write_from_another_connection(url: str, cell: Cell, value: bytes) -> None:
    """The running service saving a new value for the cell, on a connection of its own."""

    async def write() -> None:
        table = models.metadata.tables[cell[0]]
        database = Database(url, pool_size=1)
        try:
            async with database.session() as session:
                await session.execute(
                    update(table).where(table.c.id == cell[2]).values({cell[1]: value})
                )
                await session.commit()
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, write()).result()


class RingRacedByAWriter:
    """Delegates to a key ring, but just after re-encryption has read the first cell (and
    before it writes it back) the service changes that cell: the race the conditional
    UPDATE of ``reencrypt`` exists for."""

    def __init__(self, ring: KeyRing, old_ring: KeyRing, url: str) -> None:
        self.ring, self.old_ring, self.url = ring, old_ring, url
        self.active_version = ring.active_version
        self.raced: tuple[Cell, str] | None = None

    def open(self, sealed: bytes, aad: bytes) -> str:
        if self.raced is None:
            table, column, row_id = aad.decode().split("/")
            cell = (table, column, uuid.UUID(row_id))
            new_value = f"changed while re-encrypting {uuid.uuid4().hex}"
            # (the first value re-encryption opens is one still under data key v1)
            # a process that has not reloaded its keys yet still seals with v1
            _write_from_another_connection(self.url, cell, self.old_ring.seal(new_value, aad))
            self.raced = (cell, new_value)
        return self.ring.open(sealed, aad)

    def seal(self, plaintext: str, aad: bytes) -> bytes:
        return self.ring.seal(plaintext, aad)

    def __getattr__(self, name: str) -> object:  # customer keys: the ring's own
        return getattr(self.ring, name)


async def test_reencrypt_never_overwrites_a_value_changed_while_it_ran(seeded: Seeded) -> None:
    keys = await stored_keys(seeded.database)
    ring = await rotated_ring(seeded)
    racing = RingRacedByAWriter(ring, seeded.ring, seeded.fresh.url)

    report = await reencrypt(seeded.database, racing, batch_size=1)  # type: ignore[arg-type]

    assert racing.raced is not None
    cell, new_value = racing.raced
    after = await sealed_cells(seeded.database)
    assert (await opened(ring, seeded.database, {cell: after[cell]}))[cell] == new_value, (
        "the concurrent write was lost"
    )
    # The raced cell, written under v1 after the first pass read it, is moved by a second pass
    # of the same run: a run ends only when no value is left under an older version.
    assert report.passes == 2
    assert report.reencrypted == len(seeded.legacy) + len(keys)
    assert under_customer_keys(after) == after.keys()
    assert versions(after, await stored_keys(seeded.database)) == {2}

    again = await reencrypt(seeded.database, ring, batch_size=BATCH)

    assert again.reencrypted == 0
    assert await sealed_cells(seeded.database) == after


async def test_an_old_version_is_retired_only_when_it_seals_nothing_and_the_newest_has_settled(
    seeded: Seeded,
) -> None:
    ring = await rotated_ring(seeded)
    with pytest.raises(RetireRefused, match="values are still sealed under data key v1"):
        await retire(seeded.database, 1)
    await reencrypt(seeded.database, ring, batch_size=BATCH)
    with pytest.raises(RetireRefused, match="too new"):
        await retire(seeded.database, 1, settle_seconds=3600)
    with pytest.raises(RetireRefused, match="is the newest"):
        await retire(seeded.database, 2)

    await retire(seeded.database, 1)

    assert (await seeded.fresh.key_ring(seeded.database)).versions == (2,)
    counts = await sealed_counts(seeded.database)
    assert {version for per in counts.values() for version in per} == {2}


async def test_the_cli_rotates_then_reencrypts_every_value(seeded: Seeded) -> None:
    before = await sealed_cells(seeded.database)
    keys = await stored_keys(seeded.database)
    units, moved_units = len(before) + len(keys), len(seeded.legacy) + len(keys)

    rotated = await seeded.fresh.run_cli("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "data key v2 is now active" in rotated.stdout

    moved = await seeded.fresh.run_cli(
        "keys", "reencrypt", "--batch-size", "7", "--settle-seconds", "0"
    )
    assert moved.returncode == 0, moved.stderr
    assert f"examined {units} values, re-encrypted {moved_units}" in moved.stdout

    again = await seeded.fresh.run_cli("keys", "reencrypt")
    assert again.returncode == 0, again.stderr
    assert "re-encrypted 0" in again.stdout

    ring = await seeded.fresh.key_ring(seeded.database)
    after = await sealed_cells(seeded.database)
    assert versions(after, await stored_keys(seeded.database)) == {2}
    assert await opened(ring, seeded.database, after) == await opened(
        seeded.ring, seeded.database, before
    )


async def test_two_processes_starting_on_an_empty_database_end_with_one_key_ring(
    fresh_database: FreshDatabase,
) -> None:
    master = master_key_from_settings(fresh_database.settings)
    async with fresh_database.database() as database:

        async def start() -> KeyRing:
            async with database.session() as session:
                return await load_key_ring(session, master)

        first, second = await asyncio.gather(start(), start())
        assert first.versions == second.versions == (1,)
        assert first.blind_index("phone", "13800000000") == second.blind_index(
            "phone", "13800000000"
        )
        sealed = first.seal("张三", aad_for("customers", "name_enc", uuid.uuid4()))
        assert key_version_of(sealed) == 1
