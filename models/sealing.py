"""Reading and writing a row's C2 fields: ``<field>`` lives sealed in ``<field>_enc``.

The associated data is the row's table, the cell's column and the row id, so the helpers
need only the row and the field name; nothing else in the code builds AAD by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, cast
from uuid import UUID

from core.encryption import KeyRing, UnknownKeyVersion, aad_for


class SealedRow(Protocol):
    """Any table row with a UUID ``id`` (its table name is read from the class)."""

    @property
    def id(self) -> UUID: ...


def _table(row: SealedRow) -> str:
    return str(type(row).__tablename__)  # type: ignore[attr-defined]


def _column(field: str) -> str:
    return f"{field}_enc"


def seal_field(ring: KeyRing, row: SealedRow, field: str, value: str | None) -> None:
    column = _column(field)
    sealed = None if value is None else ring.seal(value, aad_for(_table(row), column, row.id))
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

    A value under a version the ring has not loaded yet (another process re-sealed it after a
    rotation) comes back as an awaitable of the clear value instead, which loads the key first:
    graphql-core and the compiled executor both await a resolver's awaitable result, and
    ``schema.policy_field.shown`` masks it once awaited. It is typed as the value because
    strawberry reads a resolver's return annotation as the field's GraphQL type. The usual
    path costs nothing more than ``open_field``.
    """
    try:
        return open_field(ring, row, field)
    except UnknownKeyVersion:
        later: Awaitable[str | None] = open_field_or_reload(ring, row, field)
        return cast("str | None", later)
