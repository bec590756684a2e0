"""Stored ``Idempotency-Key`` responses: the one sealed value kept outside an encrypted column.

``api.idempotency`` seals a mutation's response (it may hold C2 values) into the JSON
``idempotency_records.response`` as ``{"status": "done", "sealed": <base64>}``. Key rotation
must see those too: ``models.key_store`` counts them per data-key version (so ``keys retire``
never orphans a response that a retried request would replay) and re-seals them. A done
record never changes again, so re-sealing one needs no compare-and-set: the only other
writer deletes pending records.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlmodel import col, select

from core.encryption import KeyRing, aad_for, data_key_version_of
from models.idempotency import IdempotencyRecord

if TYPE_CHECKING:
    from core.database import Database

TABLE, COLUMN = "idempotency_records", "response"


def response_aad(principal: str, key: str) -> bytes:
    """The associated data of a stored response: bound to its caller and key."""
    return aad_for(TABLE, COLUMN, f"{principal}/{key}")


def _sealed_of(response: dict[str, Any]) -> bytes | None:
    sealed = response.get("sealed")
    return base64.b64decode(sealed) if isinstance(sealed, str) else None


async def response_versions(database: Database) -> dict[int, int]:
    """How many stored responses each data-key version seals (read in Python: the version
    sits inside base64 inside JSON, out of SQL's reach; the records are few and small)."""
    counts: dict[int, int] = {}
    async with database.session() as session:
        responses = await session.scalars(select(col(IdempotencyRecord.response)))
        for response in responses:
            sealed = _sealed_of(response)
            if sealed is not None:
                version = data_key_version_of(sealed)
                counts[version] = counts.get(version, 0) + 1
    return counts


async def reencrypt_responses(
    database: Database,
    ring: KeyRing,
    *,
    batch_size: int,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Re-seals the stored responses under an older version than the ring's active one, by
    committed batches; returns (examined, re-sealed)."""
    examined = changed = 0
    last_id: uuid.UUID | None = None
    while True:
        query = select(IdempotencyRecord).order_by(col(IdempotencyRecord.id)).limit(batch_size)
        if last_id is not None:
            query = query.where(col(IdempotencyRecord.id) > last_id)
        async with database.session() as session:
            rows = (await session.scalars(query)).all()
            if not rows:
                return examined, changed
            for row in rows:
                sealed = _sealed_of(row.response)
                if sealed is None:
                    continue
                examined += 1
                if data_key_version_of(sealed) >= ring.active_version:
                    continue
                aad = response_aad(row.principal, row.key)
                fresh = base64.b64encode(ring.seal(ring.open(sealed, aad), aad)).decode()
                await session.execute(
                    update(IdempotencyRecord)
                    .where(col(IdempotencyRecord.id) == row.id)
                    .values(response={**row.response, "sealed": fresh})
                )
                changed += 1
            await session.commit()
        last_id = rows[-1].id
        if on_batch is not None:
            on_batch(len(rows))
