"""Where the key ring comes from: wrapped keys in the database, opened by the master key.

Also the online maintenance jobs: ``rotate`` (a new data-key version becomes active),
``reencrypt`` (every ciphertext moved to the newest version, in short batches, so the service
keeps running and a crashed run simply starts again where values are still old),
``sealed_counts`` (how many values each version seals) and ``retire`` (an old version's
wrapped key deleted, only once it seals nothing).

How ``reencrypt`` knows it is done while servers keep writing: a server seals under the
version it has loaded, and learns of a newer one within ``key_check_seconds``
(``api.key_ring``); a value it sealed before then reaches the database within the longest a
request may run. So every value sealed under an older version is in the database by
``settle_seconds`` (the sum of those, plus the keeper's reload spacing) after the newest key
was created. ``reencrypt`` repeats its passes until a count made after that moment finds no
value under an older version than the newest one.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlmodel import col

import models
from core.encryption import (
    BLIND_INDEX_KEY,
    DATA_KEY,
    FORMAT_V1,
    KEY_BYTES,
    KeyRing,
    LocalMasterKey,
    MasterKey,
    aad_for,
    key_version_of,
    key_wrap_context,
)
from models.columns import encrypted_columns, utcnow
from models.customer_keys import customer_key_versions, ensure_customer_keys, rewrap_customer_keys
from models.keys import EncryptionKey
from models.privacy.subjects import SUBJECTS
from models.sealed_responses import COLUMN, TABLE, reencrypt_responses, response_versions

if TYPE_CHECKING:
    from core.database import Database
    from core.settings import Settings


def master_key_from_settings(settings: Settings) -> LocalMasterKey:
    """The environment's master key; in development, one generated once into ``var/``."""
    if settings.master_key:
        return LocalMasterKey.from_base64(settings.master_key)
    if settings.master_key_file:
        return LocalMasterKey.from_base64(settings.master_key_file.read_text())
    return LocalMasterKey.load_or_create_file(settings.var_dir / "master.key")


async def newest_data_key_version(session: AsyncSession) -> int | None:
    """The newest data-key version stored (one statement on the primary key)."""
    return await session.scalar(
        select(func.max(col(EncryptionKey.version))).where(col(EncryptionKey.purpose) == DATA_KEY)
    )


async def stored_data_key_versions(session: AsyncSession) -> list[int]:
    """Every data-key version whose wrapped key is stored, oldest first."""
    query = select(col(EncryptionKey.version)).where(col(EncryptionKey.purpose) == DATA_KEY)
    return sorted((await session.scalars(query)).all())


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
    passes: int = 0
    version: int = 0  # the version every value is sealed under at the end


ProgressCallback = Callable[[str, int], None]
# Old values found after the settle time mean a writer checks keys less often than assumed
# (its CARDCRM_KEY_CHECK_SECONDS is larger): passes go on, without hammering the database.
PAUSE_BETWEEN_PASSES_SECONDS = 0.5
RingReloader = Callable[[], Awaitable[KeyRing]]


def _version_bytes(sealed_column: ColumnElement[bytes]) -> ColumnElement[bytes]:
    """The 4 header bytes holding a ciphertext's data-key version (big-endian, so they
    compare as the version does, bytewise on SQLite and PostgreSQL alike)."""
    return func.substr(sealed_column, 2, 4)


def _under_data_key(sealed_column: ColumnElement[bytes]) -> ColumnElement[bool]:
    """Sealed under a data key (format 1), not under a customer's key (format 2)."""
    return func.substr(sealed_column, 1, 1) == bytes([FORMAT_V1])


def _older_than(sealed_column: ColumnElement[bytes], version: int) -> ColumnElement[bool]:
    return _under_data_key(sealed_column) & (
        _version_bytes(sealed_column) < version.to_bytes(4, "big")
    )


def _subject_of(table: Table) -> ColumnElement[Any] | None:
    """The id of the customer a row's values are about (``SUBJECTS``), as SQL."""
    path = SUBJECTS.get(table.name)
    return None if path is None else path.owner(table)


def _resealed(ring: KeyRing, sealed: bytes, aad: bytes, subject: uuid.UUID | None) -> bytes | None:
    """The value sealed afresh, or None when it needs nothing: a customer's value under the
    customer's own key (one from before keys were per customer moves there), any other value
    under the active data key."""
    version = key_version_of(sealed)
    if version is None:
        return None
    if subject is not None:
        return ring.seal_for(subject, ring.open(sealed, aad), aad)
    if version >= ring.active_version:
        return None
    return ring.seal(ring.open(sealed, aad), aad)


async def _one_pass(
    database: Database,
    ring: KeyRing,
    report: ReencryptReport,
    *,
    batch_size: int,
    on_batch: ProgressCallback | None,
    only_older: bool,
) -> None:
    """Re-seals the values under an older version than the ring's active one, by batches,
    and moves a customer's values still under a data key to the customer's own key.

    Each row is updated only if its cell still holds the ciphertext that was read, so a value
    written concurrently by the running service is never overwritten with stale data (the
    next pass finds it if it is still old). The first pass examines every value (its count
    is the progress bar's total); later ones only the old values (and the stored idempotency
    responses, which SQL cannot filter by version). The customers' keys wrapped under an
    older data key are re-wrapped last (``models.customer_keys.rewrap_customer_keys``).
    """
    for table, column_name in encrypted_columns(models.metadata):
        column, pk = table.c[column_name], table.c.id
        subject = _subject_of(table)
        selected = [pk, column] if subject is None else [pk, column, subject]
        last_id = None
        while True:
            query = select(*selected).where(column.is_not(None)).order_by(pk).limit(batch_size)
            if only_older:
                query = query.where(_older_than(column, ring.active_version))
            if last_id is not None:
                query = query.where(pk > last_id)
            async with database.session() as session:
                rows = (await session.execute(query)).all()
                if not rows:
                    break
                # Only values still under a data key move to their customer's key; the others
                # are not opened here, so their keys need not be either.
                moving = [row for row in rows if key_version_of(row[1]) is not None]
                subjects = [row[2] for row in moving if subject is not None and row[2] is not None]
                await ensure_customer_keys(session, ring, subjects)
                for row in rows:
                    row_id, sealed = row[0], row[1]
                    report.examined += 1
                    aad = aad_for(table.name, column_name, row_id)
                    fresh = _resealed(ring, sealed, aad, row[2] if subject is not None else None)
                    if fresh is None:
                        continue
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
    examined, changed = await reencrypt_responses(
        database,
        ring,
        batch_size=batch_size,
        on_batch=None if on_batch is None else lambda rows: on_batch(f"{TABLE}.{COLUMN}", rows),
    )
    report.examined += examined
    report.reencrypted += changed
    examined, changed = await rewrap_customer_keys(database, ring, batch_size=batch_size)
    report.examined += examined
    report.reencrypted += changed


async def _seconds_since_created(database: Database, version: int) -> float:
    async with database.session() as session:
        created = await session.scalar(
            select(col(EncryptionKey.created_at)).where(
                col(EncryptionKey.purpose) == DATA_KEY, col(EncryptionKey.version) == version
            )
        )
    return float("inf") if created is None else (utcnow() - created).total_seconds()


async def _is_newest(database: Database, version: int) -> bool:
    async with database.session() as session:
        return await newest_data_key_version(session) == version


async def _is_done(database: Database, version: int) -> bool:
    """No value under an older version than ``version``, which is still the newest."""
    if not await _is_newest(database, version):
        return False
    counts = await sealed_counts(database)
    return not any(v < version for per_version in counts.values() for v in per_version)


async def reencrypt(
    database: Database,
    ring: KeyRing,
    *,
    batch_size: int = 500,
    on_batch: ProgressCallback | None = None,
    reload: RingReloader | None = None,
    settle_seconds: float = 0.0,
) -> ReencryptReport:
    """Re-seals every ciphertext under the newest data key, and ends only when none is left
    under an older one, even while servers write (see the module's docstring).

    ``reload`` gives the newest ring before each pass (a rotation during the run is
    followed); ``settle_seconds`` is how long after the newest key's creation a server may
    still commit a value sealed under an older one. Passes repeat, each over the old values
    only, until a check made once that time has passed finds none.
    """
    report = ReencryptReport()
    while True:
        if reload is not None:
            ring = await reload()
        elif not await _is_newest(database, ring.active_version):
            raise ValueError("the ring is not the newest one: pass `reload` to follow rotations")
        await _one_pass(
            database,
            ring,
            report,
            batch_size=batch_size,
            on_batch=on_batch,
            only_older=report.passes > 0,
        )
        report.passes += 1
        unsettled = settle_seconds - await _seconds_since_created(database, ring.active_version)
        if unsettled > 0:
            await asyncio.sleep(unsettled)
        elif await _is_done(database, ring.active_version):
            report.version = ring.active_version
            return report
        else:  # written under an old key after the settle time: a writer is misconfigured
            await asyncio.sleep(PAUSE_BETWEEN_PASSES_SECONDS)


SealedCounts = dict[tuple[str, str], dict[int, int]]
# The customers' own keys are counted as values under the data key that wraps them: a data
# key is retirable only once no customer key is wrapped under it either.
CUSTOMER_KEYS, WRAPPED_KEY = "customer_keys", "wrapped_key"


async def sealed_counts(database: Database) -> SealedCounts:
    """How many values each data-key version seals, per (table, column): one grouped count
    per encrypted column, read off the ciphertext headers (values under a customer's key are
    counted through that key's wrapping, ``customer_keys``), and the stored idempotency
    responses (``models.sealed_responses``)."""
    counts: SealedCounts = {}
    async with database.session() as session:
        for table, column_name in encrypted_columns(models.metadata):
            version = _version_bytes(table.c[column_name])
            rows = await session.execute(
                select(version, func.count())
                .where(table.c[column_name].is_not(None), _under_data_key(table.c[column_name]))
                .group_by(version)
            )
            counts[(table.name, column_name)] = {
                int.from_bytes(header, "big"): int(number) for header, number in rows
            }
        counts[(CUSTOMER_KEYS, WRAPPED_KEY)] = await customer_key_versions(session)
    counts[(TABLE, COLUMN)] = await response_versions(database)
    return counts


class RetireRefused(Exception):
    """The version may not be retired; the message says why."""


async def retire(database: Database, version: int, *, settle_seconds: float = 0.0) -> None:
    """Deletes data key ``version``'s wrapped key, once no value is sealed under it.

    The newest version is never retired (servers seal under it), nor one that still seals a
    value (it would become unreadable), nor any while the newest key is younger than
    ``settle_seconds``: until then a server may still commit a value sealed under an older
    version (the module's docstring says why). After ``reencrypt`` has finished, all hold.
    """
    async with database.session() as session:
        newest = await newest_data_key_version(session)
        stored = await session.get(EncryptionKey, (DATA_KEY, version))
    if stored is None or newest is None:
        raise RetireRefused(f"there is no data key v{version}")
    if version == newest:
        raise RetireRefused(f"data key v{version} is the newest; rotate first")
    left = sum(per.get(version, 0) for per in (await sealed_counts(database)).values())
    if left:
        raise RetireRefused(
            f"{left} values are still sealed under data key v{version}; "
            "run `cardcrm keys reencrypt` first"
        )
    unsettled = settle_seconds - await _seconds_since_created(database, newest)
    if unsettled > 0:
        raise RetireRefused(
            f"data key v{newest} is too new: servers may still seal under v{version} for "
            f"{unsettled:.0f} s; run `cardcrm keys reencrypt`, then retire"
        )
    async with database.session() as session:
        await session.execute(
            delete(EncryptionKey).where(
                col(EncryptionKey.purpose) == DATA_KEY, col(EncryptionKey.version) == version
            )
        )
        await session.commit()


async def count_sealed_values(database: Database) -> int:
    """How many encrypted cells exist, under any key, and customer keys (a progress bar's
    total: the first ``reencrypt`` pass examines them all)."""
    total = sum((await sealed_counts(database))[(CUSTOMER_KEYS, WRAPPED_KEY)].values())
    total += sum((await response_versions(database)).values())
    async with database.session() as session:
        for table, column_name in encrypted_columns(models.metadata):
            query = select(func.count()).where(table.c[column_name].is_not(None))
            total += int(await session.scalar(query) or 0)
    return total
