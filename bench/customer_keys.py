"""Opening customers' own keys straight from asyncpg, for the bench's handlers that read
sealed cells without the ORM (``bench.bare``, ``bench.plain_twins``): the same one statement
for the keys a batch lacks that cardcrm's keeper runs (``api.key_ring``), into the same
process-wide ring cache."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import asyncpg

from core.encryption import KeyRing, customer_of

CUSTOMER_KEYS_SQL = """
SELECT customer_id, data_key_version, wrapped_key FROM customer_keys
WHERE customer_id = ANY($1::uuid[])
"""


async def open_customer_keys(
    connection: asyncpg.Connection, ring: KeyRing, customer_ids: Iterable[uuid.UUID]
) -> None:
    """Opens the stored keys of these customers that ``ring`` has not opened yet."""
    missing = list({i for i in customer_ids if not ring.has_customer_key(i)})
    if not missing:
        return
    for row in await connection.fetch(CUSTOMER_KEYS_SQL, missing):
        ring.open_customer_key(row["customer_id"], row["data_key_version"], row["wrapped_key"])


def owners(cells: Iterable[bytes | None]) -> set[uuid.UUID]:
    """The customers whose keys seal these cells."""
    return {owner for cell in cells if cell is not None and (owner := customer_of(cell))}
