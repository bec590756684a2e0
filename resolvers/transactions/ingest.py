"""Writing checked transactions: the file import and the ``ingestTransactions`` mutation.

Both go through ``write_batch``: one query finds every card the batch names (by id, or by
the PAN's blind index, so no card number is decrypted or compared in clear), then
``INSERT ... ON CONFLICT (natural_key) DO NOTHING RETURNING id`` stores the batch (in a few
multi-row statements); the rows returned are the ones that were new, so a re-run counts its
rows as duplicates and writes nothing twice.

The file import streams: it holds only the batch being built, commits each batch on its
own, and keeps the details of the first ``max_errors`` bad rows (the rest are only counted),
so its memory does not grow with the file. A crash loses at most the uncommitted batch, and
running the same file again completes the job.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Table, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.database import Database
from core.encryption import KeyRing
from core.errors import BadUserInput
from core.identity import Principal
from core.settings import Settings
from models.cards.card import PAN_INDEX, Card, CardStatus
from models.columns import utcnow
from models.transactions.transaction import Transaction
from resolvers.transactions.rows import CheckedRow, RawRow, RowError, check_row, natural_key

DEFAULT_MAX_ERRORS = 100
# Statement shapes: sqlite3 and asyncpg prepare and cache every distinct SQL text, and IN lists
# or multi-row VALUES of every possible length grew the import's memory by some 100 MB. So IN
# lists are padded to a power of two and rows go in as chunks of 512, 256, ..., 1 rows: a few
# dozen texts in all, whatever the file.
INSERT_CHUNK = 512
# Card ids (and as many PAN indexes) per lookup: at most 16,384 bind parameters, under
# SQLite's 32,766 and asyncpg's 32,767.
LOOKUP_CHUNK = 8192
TRANSACTIONS: Table = Transaction.__table__  # type: ignore[attr-defined]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A refused row: its position (file line, or index in a mutation's list) and why."""

    position: int
    reason: str


@dataclass(frozen=True, slots=True)
class BookedTransaction:
    """A transaction this batch stored (new, not a duplicate), as the batch effects see it."""

    id: uuid.UUID
    card_id: uuid.UUID
    kind: str
    amount_cents: int
    currency: str
    category: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class RefusedCardUse:
    """A row refused because its card exists but is not active (frozen, blocked, ...): not
    booked, but the risk rules must see it (a blocked card in use raises a fraud alert)."""

    card_id: uuid.UUID
    card_status: str
    natural_key: str
    amount_cents: int
    currency: str
    category: str
    merchant: str
    occurred_at: datetime


@dataclass
class BatchOutcome:
    imported: int = 0
    duplicates: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    booked: list[BookedTransaction] = field(default_factory=list)
    refused_uses: list[RefusedCardUse] = field(default_factory=list)


# What else a written batch changes, in the batch's own transaction before it commits (card
# standing after repayments, collection cases, the risk rules): passed in by the caller, so
# the transactions domain names none of them (resolvers/batch_effects.py composes them).
BatchEffect = Callable[[AsyncSession, BatchOutcome], Awaitable[None]]


def _padded(items: list[T]) -> list[T]:
    """The list, its last item repeated up to a power of two (an IN list ignores repeats)."""
    if not items:
        return items
    size = 1 << (len(items) - 1).bit_length()
    return items + [items[-1]] * (size - len(items))


def _chunks(values: list[T]) -> Iterator[list[T]]:
    """Consecutive chunks of ``INSERT_CHUNK`` rows, then of the powers of two left."""
    start, size = 0, INSERT_CHUNK
    while start < len(values):
        while size > len(values) - start:
            size //= 2
        yield values[start : start + size]
        start += size


async def _card_ids(
    session: AsyncSession, ring: KeyRing, rows: Sequence[CheckedRow]
) -> tuple[dict[uuid.UUID, str], dict[str, uuid.UUID]]:
    """The status of each named card id that exists, and the card id of each PAN (whose
    status is in the first map too): one query per batch (per ``LOOKUP_CHUNK`` cards of a
    huge batch, to stay under the bind-parameter limits)."""
    named_ids = sorted({row.card_id for row in rows if row.card_id is not None})
    pan_indexes = {row.pan: ring.blind_index(PAN_INDEX, row.pan) for row in rows if row.pan}
    indexes = sorted(set(pan_indexes.values()))
    found: list[tuple[uuid.UUID, bytes | None, str]] = []
    for start in range(0, max(len(named_ids), len(indexes)), LOOKUP_CHUNK):
        stop = start + LOOKUP_CHUNK
        query = select(col(Card.id), col(Card.pan_bidx), col(Card.status)).where(
            or_(
                col(Card.id).in_(_padded(named_ids[start:stop])),
                col(Card.pan_bidx).in_(_padded(indexes[start:stop])),
            )
        )
        found.extend(
            (card_id, bidx, status) for card_id, bidx, status in await session.execute(query)
        )
    by_index = {bidx: card_id for card_id, bidx, _ in found if bidx is not None}
    by_pan = {pan: by_index[bidx] for pan, bidx in pan_indexes.items() if bidx in by_index}
    return {card_id: status for card_id, _, status in found}, by_pan


class InactiveCard(RowError):
    """The row's card exists but is not active."""

    def __init__(self, card_id: uuid.UUID, status: str) -> None:
        super().__init__(f"the card is {status}, not active: its transactions are not booked")
        self.card_id = card_id
        self.status = status


def _resolve(
    row: CheckedRow, statuses: dict[uuid.UUID, str], by_pan: dict[str, uuid.UUID]
) -> uuid.UUID:
    """The row's card, if it is active: a transaction on a card that is issued but not
    activated, frozen, blocked or closed is not booked (``InactiveCard``; the fraud alert
    for a blocked card is the risk rules' business)."""
    if row.card_id is not None:
        if row.card_id not in statuses:
            raise RowError(f"card_id {row.card_id} names no card")
        card_id = row.card_id
    else:
        assert row.pan is not None
        found = by_pan.get(row.pan)
        if found is None:
            raise RowError("no card has this card number")
        card_id = found
    status = statuses[card_id]
    if status != CardStatus.ACTIVATED:
        raise InactiveCard(card_id, status)
    return card_id


def _values(card_id: uuid.UUID, key: str, row: CheckedRow, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "card_id": card_id,
        "amount_cents": row.amount_cents,
        "currency": row.currency,
        "merchant_name": row.merchant,
        "merchant_category": row.category.value,
        "channel": row.channel.value,
        "occurred_at": row.occurred_at,
        "natural_key": key,
        "kind": row.kind.value,
        "created_at": now,
    }


def _refused_use(error: InactiveCard, row: CheckedRow) -> RefusedCardUse:
    return RefusedCardUse(
        card_id=error.card_id,
        card_status=error.status,
        natural_key=natural_key(error.card_id, row),
        amount_cents=row.amount_cents,
        currency=row.currency,
        category=row.category.value,
        merchant=row.merchant,
        occurred_at=row.occurred_at,
    )


def _booked(values: dict[str, Any]) -> BookedTransaction:
    return BookedTransaction(
        id=values["id"],
        card_id=values["card_id"],
        kind=values["kind"],
        amount_cents=values["amount_cents"],
        currency=values["currency"],
        category=values["merchant_category"],
        occurred_at=values["occurred_at"],
    )


async def _insert_new(session: AsyncSession, values: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Inserts the rows whose natural key is new; returns their ids."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(TRANSACTIONS)
        .on_conflict_do_nothing(index_elements=[TRANSACTIONS.c.natural_key])
        .returning(TRANSACTIONS.c.id)
    )
    inserted: set[uuid.UUID] = set()
    for chunk in _chunks(values):
        inserted.update(row_id for (row_id,) in await session.execute(statement, chunk))
    return inserted


async def write_batch(
    session: AsyncSession,
    ring: KeyRing,
    rows: Sequence[CheckedRow],
    effect: BatchEffect | None = None,
) -> BatchOutcome:
    """Stores the batch's new transactions and runs ``effect`` on them (uncommitted);
    unknown cards and cards that are not active become problems."""
    outcome = BatchOutcome()
    statuses, by_pan = await _card_ids(session, ring, rows)
    now = utcnow()
    values: dict[str, dict[str, Any]] = {}
    for row in rows:
        try:
            card_id = _resolve(row, statuses, by_pan)
        except RowError as exc:
            outcome.problems.append(RowProblem(row.position, str(exc)))
            if isinstance(exc, InactiveCard):
                outcome.refused_uses.append(_refused_use(exc, row))
            continue
        key = natural_key(card_id, row)
        if key in values:
            outcome.duplicates += 1  # the same transaction twice in one batch
        else:
            values[key] = _values(card_id, key, row, now)
    inserted = await _insert_new(session, list(values.values()))
    outcome.booked = [_booked(v) for v in values.values() if v["id"] in inserted]
    outcome.imported = len(outcome.booked)
    outcome.duplicates += len(values) - outcome.imported
    if effect is not None:
        await effect(session, outcome)
    return outcome


# --- the file import ----------------------------------------------------------------------


@dataclass
class ImportSummary:
    """What an import did. ``errors`` holds the first bad rows; ``rejected`` counts them all."""

    read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    max_errors: int = DEFAULT_MAX_ERRORS

    @property
    def errors_not_shown(self) -> int:
        return self.rejected - len(self.errors)

    def add(self, outcome: BatchOutcome, refused: list[RowProblem]) -> None:
        """Counts a written batch and the rows of it that were refused, in line order."""
        self.imported += outcome.imported
        self.duplicates += outcome.duplicates
        problems = sorted([*refused, *outcome.problems], key=lambda problem: problem.position)
        self.rejected += len(problems)
        self.errors.extend(problems[: max(0, self.max_errors - len(self.errors))])


async def import_transactions(
    *,
    database: Database,
    ring: KeyRing,
    rows: Iterable[RawRow],
    batch_rows: int,
    max_errors: int = DEFAULT_MAX_ERRORS,
    on_batch: Callable[[ImportSummary], None] | None = None,
    now: datetime | None = None,
    effect: BatchEffect | None = None,
) -> ImportSummary:
    """Checks rows one by one and writes them in committed batches of ``batch_rows``, each
    with its ``effect``."""
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    summary = ImportSummary(max_errors=max_errors)
    checked_at = now or utcnow()
    batch: list[CheckedRow] = []
    refused: list[RowProblem] = []

    async def flush() -> None:
        async with database.session() as session:
            outcome = await write_batch(session, ring, batch, effect)
            await session.commit()
        summary.add(outcome, refused)
        batch.clear()
        refused.clear()
        if on_batch is not None:
            on_batch(summary)

    for raw in rows:
        summary.read += 1
        try:
            batch.append(check_row(raw, now=checked_at))
        except RowError as exc:
            refused.append(RowProblem(raw.position, str(exc)))
        if len(batch) + len(refused) >= batch_rows:
            await flush()
    await flush()
    return summary


# --- the mutation -------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    imported: int
    duplicates: int
    rejected: list[RowProblem]


async def ingest_transactions(
    *,
    session: AsyncSession,
    ring: KeyRing,
    principal: Principal,
    settings: Settings,
    rows: Sequence[Mapping[str, object]],
    effect: BatchEffect | None = None,
) -> IngestResult:
    """A service account's batch, checked and written exactly like a file's rows.

    Positions are indexes into ``rows``. Over ``settings.ingest_max_rows`` rows nothing is
    written: the caller splits the batch.
    """
    if len(rows) > settings.ingest_max_rows:
        raise BadUserInput(
            f"at most {settings.ingest_max_rows} transactions per call, not {len(rows)}; "
            "split the batch",
            field="transactions",
        )
    now = utcnow()
    checked: list[CheckedRow] = []
    rejected: list[RowProblem] = []
    for index, fields in enumerate(rows):
        try:
            checked.append(check_row(RawRow(index, fields), now=now))
        except RowError as exc:
            rejected.append(RowProblem(index, str(exc)))
    outcome = await write_batch(session, ring, checked, effect)
    await session.commit()
    rejected = sorted([*rejected, *outcome.problems], key=lambda problem: problem.position)
    return IngestResult(outcome.imported, outcome.duplicates, rejected)
