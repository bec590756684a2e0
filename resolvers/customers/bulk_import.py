"""``cardcrm import customers``: customers and their cards from a file, in committed chunks.

Each line is checked exactly as ``createCustomer`` checks its input (``NewCustomer.checked``:
the national ID's check digit and birth date, Luhn on every card number, the phone, e-mail,
tags and limits) and sealed and blind-indexed by the same ``new_customer_rows``
(``resolvers.customers.import_chunks``). Reading, checking and sealing a chunk runs in a
worker thread while the event loop writes the chunk before it, so the crypto never blocks
the loop and the two overlap; a line whose customer number is registered already is not
sealed at all.

A chunk is written in one transaction: one query per blind index finds what is registered
already (customer numbers, national IDs, card numbers), then multi-row INSERTs store the
rest, with the consent each new customer granted as its history (one INSERT for the chunk,
``resolvers.privacy.consent_history``) and one audit entry for the chunk. The import is
idempotent on the bank's customer number: a line whose number is registered (by an earlier
run, or an earlier line) is counted as already present and nothing of it is written. A
national ID or card number registered to another customer refuses the line, as the API's
CONFLICT would. Memory holds one chunk being sealed and one being written, and the first
``max_errors`` refused lines (the others are only counted, and passed to ``on_chunk``),
whatever the file's size.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth import audit, outbox
from auth.audit import AuditEvent
from auth.outbox import CUSTOMER_CREATED, Event
from core.database import Database
from core.encryption import KeyRing
from models.cards.card import Card
from models.customers.customer import Customer
from models.growth.tier import Tier
from models.organisation.organisation import Branch
from resolvers.customers.duplicates import conflict_for
from resolvers.customers.import_chunks import (
    CARDS,
    CUSTOMER_KEYS,
    CUSTOMERS,
    Chunk,
    References,
    RowProblem,
    SealedCustomer,
    check_chunk,
    seal_chunk,
)
from resolvers.privacy.consent_history import onboarding_changes, record_consent_changes
from resolvers.transactions.rows import RawRow

__all__ = ["CustomerImportSummary", "RowProblem", "import_customers"]

IMPORT_ACTION = "customer.import"
DEFAULT_MAX_ERRORS = 100
T = TypeVar("T")


@dataclass
class CustomerImportSummary:
    """What an import did; ``errors`` holds the first refused lines, ``rejected`` counts all."""

    import_id: uuid.UUID = field(default_factory=uuid.uuid4)
    read: int = 0
    imported: int = 0
    cards: int = 0
    present: int = 0
    rejected: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    max_errors: int = DEFAULT_MAX_ERRORS

    @property
    def errors_not_shown(self) -> int:
        return self.rejected - len(self.errors)

    def refuse(self, problems: Sequence[RowProblem]) -> None:
        self.rejected += len(problems)
        self.errors.extend(problems[: max(0, self.max_errors - len(self.errors))])

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "imported": self.imported,
            "cards": self.cards,
            "already_present": self.present,
            "rejected": self.rejected,
        }


def _padded(items: list[T]) -> list[T]:
    """The list, its last item repeated up to a power of two: IN lists of a few lengths
    only, so the drivers' statement caches stay small (resolvers/transactions/ingest.py)."""
    if not items:
        return items
    size = 1 << (len(items) - 1).bit_length()
    return items + [items[-1]] * (size - len(items))


async def _registered(session: AsyncSession, column: Any, indexes: list[bytes]) -> set[bytes]:
    if not indexes:
        return set()
    found = await session.scalars(select(column).where(column.in_(_padded(indexes))))
    return set(found)


@dataclass
class _Seen:
    """The blind indexes registered before the chunk, and those of its earlier lines."""

    numbers: set[bytes]
    ids: set[bytes]
    pans: set[bytes]


async def _seen(session: AsyncSession, sealed: list[SealedCustomer]) -> _Seen:
    return _Seen(
        await _registered(
            session, col(Customer.customer_number_bidx), [s.number_index for s in sealed]
        ),
        await _registered(session, col(Customer.id_number_bidx), [s.id_index for s in sealed]),
        await _registered(
            session, col(Card.pan_bidx), [index for s in sealed for index in s.pan_indexes]
        ),
    )


def _sorted_out(
    sealed: list[SealedCustomer], seen: _Seen
) -> tuple[list[SealedCustomer], int, list[RowProblem]]:
    """The lines to insert, how many are already present, and those refused as duplicates."""
    new: list[SealedCustomer] = []
    present = 0
    problems: list[RowProblem] = []
    for row in sealed:
        if row.number_index in seen.numbers:
            present += 1
        elif row.id_index in seen.ids:
            problems.append(RowProblem(row.line, str(conflict_for("idNumber"))))
        elif any(index in seen.pans for index in row.pan_indexes):
            problems.append(RowProblem(row.line, str(conflict_for("pan"))))
        else:
            new.append(row)
            seen.numbers.add(row.number_index)
            seen.ids.add(row.id_index)
            seen.pans.update(row.pan_indexes)
    return new, present, problems


async def _write_once(
    session: AsyncSession,
    chunk: Chunk,
    summary: CustomerImportSummary,
    audit_event: Callable[..., AuditEvent],
) -> tuple[list[SealedCustomer], int, list[RowProblem]]:
    new, present, problems = _sorted_out(chunk.sealed, await _seen(session, chunk.sealed))
    event = audit_event(
        IMPORT_ACTION,
        target_type="CustomerImport",
        target_id=str(summary.import_id),
        details={
            "lines": f"{chunk.first_line}-{chunk.last_line}",
            "imported": len(new),
            "already_present": chunk.present + present,
            "rejected": len(chunk.problems) + len(problems),
        },
    )
    if new:
        await session.execute(insert(CUSTOMERS), [row.customer for row in new])
        await session.execute(insert(CUSTOMER_KEYS), [row.key for row in new])
        cards = [card for row in new for card in row.cards]
        if cards:
            await session.execute(insert(CARDS), cards)
        history = onboarding_changes([row.customer for row in new], event.actor_id)
        await record_consent_changes(session, history)
        # As createCustomer's audit entry does (auth.outbox): one event per customer, here
        # beside the chunk's one audit entry.
        created = [Event(CUSTOMER_CREATED, "Customer", str(row.customer["id"]), {}) for row in new]
        await outbox.write_bulk(session, created)
    async with audit.chain_lock(session):
        await audit.append(session, event)
        await session.commit()
    return new, present, problems


async def write_chunk(
    database: Database,
    chunk: Chunk,
    summary: CustomerImportSummary,
    audit_event: Callable[..., AuditEvent],
) -> list[RowProblem]:
    """Writes the chunk in one transaction with its audit entry and counts it; returns the
    chunk's refused lines in line order. A unique index that fires anyway (another writer
    registered the same number since the lookups) rolls the chunk back, and it is sorted
    out again against what is registered now."""
    for attempt in range(2):
        async with database.session() as session:
            try:
                new, present, problems = await _write_once(session, chunk, summary, audit_event)
                break
            except IntegrityError:
                await session.rollback()
                if attempt:
                    raise
    summary.imported += len(new)
    summary.cards += sum(len(row.cards) for row in new)
    summary.present += chunk.present + present
    refused = sorted([*chunk.problems, *problems], key=lambda problem: problem.line)
    summary.refuse(refused)
    return refused


async def _registered_numbers(database: Database, indexes: list[bytes]) -> set[bytes]:
    """Which of the chunk's customer numbers are registered (so need no sealing)."""
    async with database.session() as session:
        return await _registered(session, col(Customer.customer_number_bidx), indexes)


async def load_references(database: Database) -> References:
    async with database.session() as session:
        branches = await session.execute(select(col(Branch.code), col(Branch.id)))
        tiers = await session.execute(select(col(Tier.code), col(Tier.id)))
        return References(dict(branches.all()), dict(tiers.all()))


async def import_customers(
    *,
    database: Database,
    ring: KeyRing,
    rows: Iterator[RawRow],
    chunk_rows: int,
    audit_event: Callable[..., AuditEvent],
    max_errors: int = DEFAULT_MAX_ERRORS,
    on_chunk: Callable[[CustomerImportSummary, list[RowProblem]], None] | None = None,
) -> CustomerImportSummary:
    """Imports the rows chunk by chunk: the next chunk is read, checked and (where its
    customer number is new) sealed in a worker thread while the current one is written;
    ``on_chunk`` hears of each written chunk and its refused lines."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    summary = CustomerImportSummary(max_errors=max_errors)
    references = await load_references(database)
    loop = asyncio.get_running_loop()

    async def written(chunk: Chunk) -> None:
        refused = await write_chunk(database, chunk, summary, audit_event)
        if on_chunk is not None:
            on_chunk(summary, refused)

    writing: asyncio.Task[None] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="customer-import") as pool:
        try:
            while True:
                chunk = await loop.run_in_executor(
                    pool, check_chunk, rows, ring, references, chunk_rows
                )
                if chunk.read:
                    registered = await _registered_numbers(database, chunk.number_indexes)
                    await loop.run_in_executor(pool, seal_chunk, ring, chunk, registered)
                if writing is not None:
                    await writing
                    writing = None
                if not chunk.read:
                    break
                summary.read += chunk.read
                writing = asyncio.create_task(written(chunk))
        finally:
            if writing is not None:
                await writing
    await _record_summary(database, summary, audit_event)
    return summary


async def _record_summary(
    database: Database, summary: CustomerImportSummary, audit_event: Callable[..., AuditEvent]
) -> None:
    """The import's closing audit entry: its counts, whatever the chunks did."""
    async with database.session() as session:
        await audit.record_and_commit(
            session,
            audit_event(
                f"{IMPORT_ACTION}.done",
                target_type="CustomerImport",
                target_id=str(summary.import_id),
                details=summary.counts(),
            ),
        )
