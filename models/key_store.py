"""Where the key ring comes from: wrapped keys in the database, opened by the master key.

Also the two online maintenance jobs: ``rotate`` (a new data-key version becomes active) and
``reencrypt`` (every ciphertext moved to the newest version, in short batches, so the service
keeps running and a crashed run simply starts again where values are still old).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import models
from models.columns import encrypted_columns
from models.encryption import (
    BLIND_INDEX_KEY,
    DATA_KEY,
    KEY_BYTES,
    KeyRing,
    LocalMasterKey,
    MasterKey,
    aad_for,
    key_version_of,
    key_wrap_context,
)
from models.keys import EncryptionKey

if TYPE_CHECKING:
    from api.db import Database
    from api.settings import Settings


def master_key_from_settings(settings: Settings) -> LocalMasterKey:
    """The environment's master key; in development, one generated once into ``var/``."""
    if settings.master_key:
        return LocalMasterKey.from_base64(settings.master_key)
    if settings.master_key_file:
        return LocalMasterKey.from_base64(settings.master_key_file.read_text())
    return LocalMasterKey.load_or_create_file(settings.var_dir / "master.key")


async def _stored_keys(session: AsyncSession) -> list[EncryptionKey]:
    return list((await session.execute(select(EncryptionKey))).scalars())


def _new_key(master: MasterKey, purpose: str, version: int) -> EncryptionKey:
    wrapped = master.wrap(os.urandom(KEY_BYTES), context=key_wrap_context(purpose, version))
    return EncryptionKey(purpose=purpose, version=version, wrapped_key=wrapped)


async def load_key_ring(session: AsyncSession, master: MasterKey) -> KeyRing:
    """Opens every stored key; on an empty database creates data key v1 and the index key."""
    rows = await _stored_keys(session)
    if not rows:
        # Both in one commit: a second worker starting at the same moment sees both or none.
        session.add_all([_new_key(master, DATA_KEY, 1), _new_key(master, BLIND_INDEX_KEY, 1)])
        try:
            await session.commit()
        except IntegrityError:  # another process created them first: use theirs
            await session.rollback()
        rows = await _stored_keys(session)
    data_keys = {
        row.version: master.unwrap(row.wrapped_key, context=key_wrap_context(DATA_KEY, row.version))
        for row in rows
        if row.purpose == DATA_KEY
    }
    (index_row,) = [row for row in rows if row.purpose == BLIND_INDEX_KEY]
    index_key = master.unwrap(
        index_row.wrapped_key, context=key_wrap_context(BLIND_INDEX_KEY, index_row.version)
    )
    return KeyRing(data_keys, index_key)


async def rotate(session: AsyncSession, master: MasterKey) -> int:
    """Adds a data-key version; new values are sealed with it once processes reload keys."""
    ring = await load_key_ring(session, master)
    new_version = max(ring.versions) + 1
    session.add(_new_key(master, DATA_KEY, new_version))
    await session.commit()
    return new_version


@dataclass
class ReencryptReport:
    examined: int = 0
    reencrypted: int = 0


ProgressCallback = Callable[[str, int], None]


async def reencrypt(
    database: Database,
    ring: KeyRing,
    *,
    batch_size: int = 500,
    on_batch: ProgressCallback | None = None,
) -> ReencryptReport:
    """Re-seals every ciphertext not under the ring's active key, one committed batch at a time.

    Each row is updated only if its cell still holds the ciphertext that was read, so a value
    written concurrently by the running service is never overwritten with stale data.
    """
    report = ReencryptReport()
    for table, column_name in encrypted_columns(models.metadata):
        column, pk = table.c[column_name], table.c.id
        last_id = None
        while True:
            query = select(pk, column).where(column.is_not(None)).order_by(pk).limit(batch_size)
            if last_id is not None:
                query = query.where(pk > last_id)
            async with database.session() as session:
                rows = (await session.execute(query)).all()
                if not rows:
                    break
                for row_id, sealed in rows:
                    report.examined += 1
                    if key_version_of(sealed) == ring.active_version:
                        continue
                    aad = aad_for(table.name, column_name, row_id)
                    fresh = ring.seal(ring.open(sealed, aad), aad)
                    result = await session.execute(
                        update(table)
                        .where(pk == row_id, column == sealed)
                        .values({column_name: fresh})
                    )
                    report.reencrypted += result.rowcount  # type: ignore[attr-defined]
                await session.commit()
            last_id = rows[-1][0]
            if on_batch is not None:
                on_batch(f"{table.name}.{column_name}", len(rows))
    return report


async def count_sealed_values(database: Database) -> int:
    """How many encrypted cells exist (for a progress bar's total)."""
    total = 0
    async with database.session() as session:
        for table, column_name in encrypted_columns(models.metadata):
            column = table.c[column_name]
            total += (
                await session.execute(select(func.count()).where(column.is_not(None)))
            ).scalar_one()
    return total
