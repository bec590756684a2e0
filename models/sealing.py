"""Reading and writing a row's C2 fields: ``<field>`` lives sealed in ``<field>_enc``.

The associated data is the row's table, the cell's column and the row id, so the helpers
need only the row and the field name; nothing else in the code builds AAD by hand.

A value about a customer is sealed under the customer's own key (``core.encryption``,
format 2): the row names its customer (``models.privacy.subjects.SUBJECTS``), directly or,
for a row linked through a parent, by the ``customer_id`` the caller passes. The key must be
open in the ring first (``models.customer_keys.ensure_customer_keys``, or
``new_customer_key_row`` for a new customer); sealing never reaches the database itself.
Opening needs no such care: the ciphertext names its key.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Protocol, cast
from uuid import UUID

from core.encryption import KeyNotLoaded, KeyRing, aad_for
from models.privacy.subjects import NOT_PERSONAL, SUBJECTS


class SealedRow(Protocol):
    """Any table row with a UUID ``id`` (its table name is read from the class)."""

    @property
    def id(self) -> UUID: ...


def _table(row: SealedRow) -> str:
    return str(type(row).__tablename__)  # type: ignore[attr-defined]


def _column(field: str) -> str:
    return f"{field}_enc"


def subject_of(row: SealedRow) -> uuid.UUID | None:
    """The customer whose key seals this row's values (None: no customer's, data key)."""
    table = _table(row)
    path = SUBJECTS.get(table)
    if path is None:
        if table in NOT_PERSONAL:
            return None
        raise ValueError(f"{table} is in neither SUBJECTS nor NOT_PERSONAL (models.privacy)")
    if path.parent is not None:
        raise ValueError(
            f"a {table} row names its customer through {path.parent}: pass customer_id"
        )
    subject: uuid.UUID = getattr(row, path.column)
    return subject


def seal_field(
    ring: KeyRing,
    row: SealedRow,
    field: str,
    value: str | None,
    *,
    customer_id: uuid.UUID | None = None,
) -> None:
    """Seals ``value`` into ``<field>_enc``, under the customer's own key when the row is
    about a customer (``customer_id`` for a row linked to them through a parent row)."""
    column = _column(field)
    if value is None:
        setattr(row, column, None)
        return
    aad = aad_for(_table(row), column, row.id)
    subject = customer_id if customer_id is not None else subject_of(row)
    sealed = ring.seal(value, aad) if subject is None else ring.seal_for(subject, value, aad)
    setattr(row, column, sealed)


def open_field(ring: KeyRing, row: SealedRow, field: str) -> str | None:
    column = _column(field)
    sealed: bytes | None = getattr(row, column)
    if sealed is None:
        return None
    return ring.open(sealed, aad_for(_table(row), column, row.id))


async def open_field_or_reload(ring: KeyRing, row: SealedRow, field: str) -> str | None:
    """``open_field`` that first loads a data-key version the ring lacks (``open_or_reload``)."""
    column = _column(field)
    sealed: bytes | None = getattr(row, column)
    if sealed is None:
        return None
    return await ring.open_or_reload(sealed, aad_for(_table(row), column, row.id))


def read_field(ring: KeyRing, row: SealedRow, field: str) -> str | None:
    """``open_field`` for a GraphQL resolver, which is synchronous to keep fields cheap.

    A value under a key the ring has not loaded yet (a data-key version another process
    re-sealed it under after a rotation, or a customer's key this process has not opened)
    comes back as an awaitable of the clear value instead, which loads the key first:
    graphql-core and the compiled executor both await a resolver's awaitable result, and
    ``schema.policy_field.shown`` masks it once awaited. It is typed as the value because
    strawberry reads a resolver's return annotation as the field's GraphQL type. The usual
    path costs nothing more than ``open_field``.
    """
    try:
        return open_field(ring, row, field)
    except KeyNotLoaded:
        later: Awaitable[str | None] = open_field_or_reload(ring, row, field)
        return cast("str | None", later)
