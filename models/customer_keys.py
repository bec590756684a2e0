"""Each customer's own data key: created with the customer, opened when a value about them
is sealed or read, re-wrapped when the data keys rotate, destroyed by erasure.

(The sealing itself is in ``core.encryption`` and ``models.sealing``; this module is the
table's life cycle.) A key is inserted in the transaction that first seals a value under it,
so a value is never committed without its key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.encryption import KeyRing, UnknownKeyVersion
from core.errors import CustomerErased
from models.customers.customer import Customer
from models.keys import CustomerKey

if TYPE_CHECKING:
    from core.database import Database


async def stored_customer_keys(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID]
) -> list[CustomerKey]:
    """The stored keys of these customers, in one statement."""
    if not customer_ids:
        return []
    query = select(CustomerKey).where(col(CustomerKey.customer_id).in_(list(customer_ids)))
    return list((await session.scalars(query)).all())


async def open_stored_keys(ring: KeyRing, rows: Iterable[CustomerKey]) -> None:
    """Opens stored keys into ``ring``; one wrapped under a data-key version the ring has not
    loaded is opened through the ring's keeper, which loads that version (``ring_with``).
    The opened keys are the process's, whichever ring opened them."""
    for row in rows:
        try:
            ring.open_customer_key(row.customer_id, row.data_key_version, row.wrapped_key)
        except UnknownKeyVersion:
            newer = await ring.ring_with(row.data_key_version)
            newer.open_customer_key(row.customer_id, row.data_key_version, row.wrapped_key)


def _insert_keys(session: AsyncSession, rows: list[dict[str, object]]) -> Any:
    """An INSERT of key rows that skips a customer whose key another transaction stored."""
    if session.get_bind().dialect.name == "sqlite":
        return sqlite_insert(CustomerKey).values(rows).on_conflict_do_nothing()
    return postgresql_insert(CustomerKey).values(rows).on_conflict_do_nothing()


def _new_key_rows(ring: KeyRing, customer_ids: Sequence[uuid.UUID]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for customer_id in customer_ids:
        version, wrapped = ring.new_customer_key(customer_id)
        rows.append(
            {"customer_id": customer_id, "data_key_version": version, "wrapped_key": wrapped}
        )
    return rows


def new_customer_key_row(ring: KeyRing, customer_id: uuid.UUID) -> CustomerKey:
    """A new customer's key, opened into the ring for sealing, as the row to insert with
    the customer (in the same transaction)."""
    version, wrapped = ring.new_customer_key(customer_id)
    return CustomerKey(customer_id=customer_id, data_key_version=version, wrapped_key=wrapped)


async def load_customer_keys(
    session: AsyncSession,
    ring: KeyRing,
    customer_ids: Iterable[uuid.UUID],
) -> None:
    """Opens the stored keys of these customers that the ring lacks, for reading their values
    in a loop (one statement, none when the ring holds them all); creates none."""
    missing = sorted({i for i in customer_ids if not ring.has_customer_key(i)})
    if missing:
        await open_stored_keys(ring, await stored_customer_keys(session, missing))


async def _refuse_erased(session: AsyncSession, keyless: Sequence[uuid.UUID]) -> None:
    """An erased customer never gets a key again (nothing new is sealed about a tombstone):
    the last guard behind each write path's own CUSTOMER_ERASED check."""
    erased = await session.scalar(
        select(func.count())
        .select_from(Customer)
        .where(col(Customer.id).in_(keyless), col(Customer.erased_at).is_not(None))
    )
    if erased:
        raise CustomerErased("the customer was erased; nothing new is recorded about them")


async def ensure_customer_keys(
    session: AsyncSession,
    ring: KeyRing,
    customer_ids: Iterable[uuid.UUID],
) -> None:
    """Makes the keys of these customers usable for sealing: opens the stored ones the ring
    lacks and gives one to a customer who has none yet (a customer from before keys were
    per customer). Nothing runs when the ring holds them all already.

    A key created here races another transaction creating the same customer's key: the
    insert skips a conflicting row and the stored one is opened instead, so both seal under
    the one key that was committed."""
    wanted = list(customer_ids)
    await load_customer_keys(session, ring, wanted)
    keyless = sorted({i for i in wanted if not ring.has_customer_key(i)})
    if not keyless:
        return
    await _refuse_erased(session, keyless)
    await session.execute(_insert_keys(session, _new_key_rows(ring, keyless)))
    for customer_id in keyless:  # a concurrent creator's key won: use the stored one
        ring.forget_customer(customer_id)
    await open_stored_keys(ring, await stored_customer_keys(session, keyless))


async def customer_key_versions(session: AsyncSession) -> dict[int, int]:
    """How many customer keys each data-key version wraps."""
    version = col(CustomerKey.data_key_version)
    rows = await session.execute(select(version, func.count()).group_by(version))
    return {int(v): int(n) for v, n in rows}


async def rewrap_customer_keys(
    database: Database, ring: KeyRing, *, batch_size: int
) -> tuple[int, int]:
    """Re-wraps every customer key wrapped under an older data key than the ring's active
    one, by committed batches (rotation reaches a customer's values this way, without
    touching them); returns (examined, re-wrapped). Each row changes only if it still holds
    the wrapping that was read, so a concurrent erasure or creation is never undone."""
    examined = changed = 0
    older = col(CustomerKey.data_key_version) < ring.active_version
    while True:
        async with database.session() as session:
            query = select(CustomerKey).where(older).order_by(col(CustomerKey.customer_id))
            rows = list((await session.scalars(query.limit(batch_size))).all())
            if not rows:
                return examined, changed
            for row in rows:
                examined += 1
                fresh = ring.rewrap_customer_key(
                    row.customer_id, row.data_key_version, row.wrapped_key
                )
                result = await session.execute(
                    update(CustomerKey)
                    .where(
                        col(CustomerKey.customer_id) == row.customer_id,
                        col(CustomerKey.wrapped_key) == row.wrapped_key,
                    )
                    .values(data_key_version=ring.active_version, wrapped_key=fresh)
                )
                changed += result.rowcount  # type: ignore[attr-defined]
            await session.commit()


async def destroy_customer_key(
    session: AsyncSession, ring: KeyRing, customer_id: uuid.UUID
) -> bool:
    """Deletes the customer's key in the session's transaction (crypto-shredding: every
    value sealed under it becomes unreadable once this commits), and forgets this process's
    opened copy. True when there was a key to destroy."""
    result = await session.execute(
        delete(CustomerKey).where(col(CustomerKey.customer_id) == customer_id)
    )
    ring.forget_customer(customer_id)
    return bool(result.rowcount)  # type: ignore[attr-defined]
