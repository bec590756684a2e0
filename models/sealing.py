"""Reading and writing a row's C2 fields: ``<field>`` lives sealed in ``<field>_enc``.

The associated data is the row's table, the cell's column and the row id, so the helpers
need only the row and the field name; nothing else in the code builds AAD by hand.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from models.encryption import KeyRing, aad_for


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
