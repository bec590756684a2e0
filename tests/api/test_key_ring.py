"""The key ring keeper of a process (api/key_ring.py), on a database of the test's own.

Given a process that has loaded data key v1, when another process rotates to v2, then the
keeper's check moves sealing to v2, even for code that holds on to the old ring object; when
many callers meet a version that does not exist at once, then they share one reload and all
get KEY_UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.key_ring import KeyRingKeeper
from core.database import Database
from core.encryption import aad_for, customer_of, key_version_of
from core.errors import KeyUnavailable
from models.customer_keys import destroy_customer_key, new_customer_key_row
from models.key_store import load_key_ring, master_key_from_settings, rotate
from tests.api.conftest import fresh_database
from tests.models.conftest import FreshDatabase

__all__ = ["fresh_database"]

AAD = aad_for("customers", "name_enc", uuid.uuid4())


@pytest.fixture
async def database(fresh_database: FreshDatabase) -> AsyncIterator[Database]:
    async with fresh_database.database() as database:
        yield database


@pytest.fixture
async def keeper(fresh_database: FreshDatabase, database: Database) -> KeyRingKeeper:
    master = master_key_from_settings(fresh_database.settings)
    async with database.session() as session:
        ring = await load_key_ring(session, master)
    return KeyRingKeeper(database, master, ring)


async def rotate_elsewhere(fresh_database: FreshDatabase) -> None:
    """``cardcrm keys rotate`` in another process: its own engine on the same database."""
    async with fresh_database.database() as other, other.session() as session:
        await rotate(session, master_key_from_settings(fresh_database.settings))


async def test_after_a_rotation_elsewhere_the_check_moves_sealing_to_the_new_key_for_held_rings(
    fresh_database: FreshDatabase, keeper: KeyRingKeeper
) -> None:
    held = keeper.ring  # as a long import holds the ring it started with
    assert key_version_of(held.seal("张三", AAD)) == 1
    await rotate_elsewhere(fresh_database)

    await keeper.check_newest()

    assert keeper.ring.active_version == 2
    assert key_version_of(held.seal("张三", AAD)) == 2
    assert key_version_of(keeper.ring.seal("张三", AAD)) == 2


async def test_a_value_under_a_version_loaded_elsewhere_opens_after_one_reload(
    fresh_database: FreshDatabase, keeper: KeyRingKeeper
) -> None:
    await rotate_elsewhere(fresh_database)
    async with fresh_database.database() as other:
        other_ring = await fresh_database.key_ring(other)
    sealed = [other_ring.seal(f"值{n}", AAD) for n in range(20)]
    held = keeper.ring

    opened = await asyncio.gather(*(held.open_or_reload(value, AAD) for value in sealed))

    assert opened == [f"值{n}" for n in range(20)]
    assert keeper.reloads == 1


async def test_callers_meeting_a_version_that_exists_nowhere_share_one_reload_and_fail_coded(
    keeper: KeyRingKeeper,
) -> None:
    outcomes = await asyncio.gather(
        *(keeper.ring_with(99) for _ in range(20)), return_exceptions=True
    )

    assert all(isinstance(outcome, KeyUnavailable) for outcome in outcomes)
    assert keeper.reloads == 1
    again = await asyncio.gather(*(keeper.ring_with(99) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(outcome, KeyUnavailable) for outcome in again)
    assert keeper.reloads == 1, "a version found missing a moment ago fails fast"


async def _rename_keys_table(database: Database, old: str, new: str) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


async def test_a_reload_the_database_failed_is_not_taken_for_a_missing_key(
    fresh_database: FreshDatabase, database: Database
) -> None:
    master = master_key_from_settings(fresh_database.settings)
    async with database.session() as session:
        ring = await load_key_ring(session, master)
    keeper = KeyRingKeeper(database, master, ring, min_reload_seconds=0.5)
    await keeper.reload()  # the next one waits for the spacing
    await rotate_elsewhere(fresh_database)
    await _rename_keys_table(database, "encryption_keys", "encryption_keys_away")
    failing = asyncio.create_task(keeper.ring_with(2))  # waits for the spacing, then fails
    await asyncio.sleep(0.1)
    waiting = asyncio.create_task(keeper.ring_with(2))  # met v2 before that reload began

    with pytest.raises(DBAPIError):
        await failing
    await _rename_keys_table(database, "encryption_keys_away", "encryption_keys")

    assert 2 in (await waiting).versions, "a failed reload answers for nobody"


async def _customer_values_sealed_elsewhere(
    fresh_database: FreshDatabase, database: Database, count: int
) -> list[tuple[bytes, bytes]]:
    """Values of ``count`` customers whose keys another process created and stored."""
    async with fresh_database.database() as other:
        other_ring = await fresh_database.key_ring(other)
        customers = [uuid.uuid4() for _ in range(count)]
        async with other.session() as session:
            session.add_all([new_customer_key_row(other_ring, c) for c in customers])
            await session.commit()
    cells = [aad_for("customers", "name_enc", customer) for customer in customers]
    return [
        (other_ring.seal_for(customer, f"客户{n}", aad), aad)
        for n, (customer, aad) in enumerate(zip(customers, cells, strict=True))
    ]


async def test_the_customer_keys_a_page_of_values_needs_are_opened_in_one_statement(
    fresh_database: FreshDatabase, database: Database, keeper: KeyRingKeeper
) -> None:
    values = await _customer_values_sealed_elsewhere(fresh_database, database, 25)
    held = keeper.ring
    before = database.statements_executed

    opened = await asyncio.gather(*(held.open_or_reload(value, aad) for value, aad in values))

    assert opened == [f"客户{n}" for n in range(25)]
    assert database.statements_executed - before == 1
    again = database.statements_executed
    await asyncio.gather(*(held.open_or_reload(value, aad) for value, aad in values))
    assert database.statements_executed == again  # the keys stay open in the process


async def test_a_value_of_an_erased_customer_fails_coded_and_its_neighbours_still_open(
    fresh_database: FreshDatabase, database: Database, keeper: KeyRingKeeper
) -> None:
    (erased, erased_aad), (kept, kept_aad) = await _customer_values_sealed_elsewhere(
        fresh_database, database, 2
    )
    erased_id = customer_of(erased)
    assert erased_id is not None
    async with database.session() as session:
        assert await destroy_customer_key(session, keeper.ring, erased_id)
        await session.commit()

    results = await asyncio.gather(
        keeper.ring.open_or_reload(erased, erased_aad),
        keeper.ring.open_or_reload(kept, kept_aad),
        return_exceptions=True,
    )

    assert isinstance(results[0], KeyUnavailable)
    assert "erased" in str(results[0])
    assert results[1] == "客户1"


async def test_customer_keys_stay_open_across_a_rotation(
    fresh_database: FreshDatabase, database: Database, keeper: KeyRingKeeper
) -> None:
    customer = uuid.uuid4()
    async with database.session() as session:
        session.add(new_customer_key_row(keeper.ring, customer))
        await session.commit()
    await rotate_elsewhere(fresh_database)

    await keeper.check_newest()

    assert keeper.ring.active_version == 2
    assert keeper.ring.has_customer_key(customer)
