"""The worker thread's part of ``cardcrm import customers``: a chunk of lines read, checked
exactly as ``createCustomer`` checks its input (``NewCustomer.checked``) and then sealed and
blind-indexed by the same ``new_customer_rows``, into INSERT values.

Two passes, both in the worker thread so neither blocks the event loop: ``check_chunk``
reads and checks the lines and takes each customer number's blind index (one HMAC); the
event loop asks the database which of those numbers are registered; ``seal_chunk`` then seals
only the others. A re-run of a file thus costs its checks and one query per chunk, not the
sealing of every line again. Whether a line is new is decided again when its chunk is
written (``resolvers.customers.bulk_import``): this first look only spares the crypto.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import Table
from sqlmodel import SQLModel

from core.encryption import KeyRing
from core.errors import BadUserInput
from models.cards.card import Card
from models.customers.customer import Customer
from models.keys import CustomerKey
from resolvers.customers.import_file import file_customer
from resolvers.customers.input import NewCustomer
from resolvers.customers.records import CUSTOMER_NUMBER_INDEX, new_customer_rows
from resolvers.transactions.rows import RawRow, RowError

CUSTOMERS: Table = Customer.__table__  # type: ignore[attr-defined]
CARDS: Table = Card.__table__  # type: ignore[attr-defined]
CUSTOMER_KEYS: Table = CustomerKey.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A refused line: its number in the file and why (never a clear value of it)."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class References:
    """Branch and tier ids by code, read once: a line names them by code."""

    branches: dict[str, uuid.UUID]
    tiers: dict[str, uuid.UUID]


@dataclass(frozen=True, slots=True)
class CheckedLine:
    """A line that passed every check, not yet sealed."""

    line: int
    data: NewCustomer
    branch_id: uuid.UUID
    tier_id: uuid.UUID
    number_index: bytes


@dataclass(frozen=True, slots=True)
class SealedCustomer:
    """A checked line, sealed: the rows to insert and the blind indexes to test first."""

    line: int
    customer: dict[str, Any]
    cards: list[dict[str, Any]]
    key: dict[str, Any]  # the customer's own key (models.customer_keys)

    @property
    def number_index(self) -> bytes:
        index: bytes = self.customer["customer_number_bidx"]
        return index

    @property
    def id_index(self) -> bytes:
        index: bytes = self.customer["id_number_bidx"]
        return index

    @property
    def pan_indexes(self) -> list[bytes]:
        return [card["pan_bidx"] for card in self.cards]


@dataclass
class Chunk:
    """Up to ``chunk_rows`` lines: checked, then sealed unless already present."""

    read: int = 0
    checked: list[CheckedLine] = field(default_factory=list)
    sealed: list[SealedCustomer] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    # Lines whose customer number was registered before the chunk was sealed.
    present: int = 0
    first_line: int = 0
    last_line: int = 0

    @property
    def number_indexes(self) -> list[bytes]:
        return [line.number_index for line in self.checked]


def _checked(ring: KeyRing, references: References, raw: RawRow) -> CheckedLine:
    """The line checked like ``createCustomer``'s input, or ``RowError`` saying why not."""
    found = file_customer(raw)
    try:
        data = found.data.checked()
    except BadUserInput as exc:
        raise RowError(str(exc)) from exc
    branch_id = references.branches.get(found.branch_code)
    if branch_id is None:
        raise RowError(f"branch_code {found.branch_code} names no branch")
    tier_id = references.tiers.get(data.tier_code)
    if tier_id is None:
        raise RowError(f"tier_code {data.tier_code} names no tier")
    if len({card.pan for card in data.cards}) < len(data.cards):
        raise RowError("the same card number is given twice")
    assert data.customer_number is not None  # file_customer requires it
    number_index = ring.blind_index(CUSTOMER_NUMBER_INDEX, data.customer_number)
    return CheckedLine(raw.position, data, branch_id, tier_id, number_index)


def check_chunk(
    rows: Iterator[RawRow], ring: KeyRing, references: References, chunk_rows: int
) -> Chunk:
    """Reads and checks the next ``chunk_rows`` lines (in the worker thread)."""
    chunk = Chunk()
    for raw in islice(rows, chunk_rows):
        chunk.read += 1
        chunk.first_line = chunk.first_line or raw.position
        chunk.last_line = raw.position
        try:
            chunk.checked.append(_checked(ring, references, raw))
        except RowError as exc:
            chunk.problems.append(RowProblem(raw.position, str(exc)))
    return chunk


def _values(row: SQLModel, table: Table) -> dict[str, Any]:
    return {column.name: getattr(row, column.name) for column in table.columns}


def seal_chunk(ring: KeyRing, chunk: Chunk, registered: set[bytes]) -> Chunk:
    """Seals the checked lines whose customer number is not in ``registered`` (in the
    worker thread); the others are counted as present."""
    for line in chunk.checked:
        if line.number_index in registered:
            chunk.present += 1
            continue
        customer, cards, key = new_customer_rows(
            ring, line.data, branch_id=line.branch_id, tier_id=line.tier_id
        )
        # Sealed: the import needs the key no more (its row holds it wrapped), and a process
        # importing 100,000 customers keeps its memory flat.
        ring.forget_customer(customer.id)
        chunk.sealed.append(
            SealedCustomer(
                line.line,
                _values(customer, CUSTOMERS),
                [_values(card, CARDS) for card in cards],
                _values(key, CUSTOMER_KEYS),
            )
        )
    chunk.checked = []
    return chunk
