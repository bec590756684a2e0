"""What the alert rules read of a written batch, and the purchases each rule looks at.

The rules do not import the transactions domain: a batch's outcome
(``resolvers.transactions.ingest.BatchOutcome``) is read through the protocols here. Which
purchases a rule can apply to is often clear from the transaction alone (its currency, its
amount, its local hour): ``candidates`` sorts them in Python, so each rule's statement joins
only the few it must look at; velocity alone looks at every purchase.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from core.settings import Settings
from models.transactions.transaction import TransactionKind

PURCHASE = TransactionKind.PURCHASE.value


class BookedLike(Protocol):
    """A transaction a batch stored (``resolvers.transactions.ingest.BookedTransaction``)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def kind(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def currency(self) -> str: ...
    @property
    def amount_cents(self) -> int: ...


class RefusedLike(Protocol):
    """A row refused for its inactive card (``ingest.RefusedCardUse``)."""

    @property
    def card_id(self) -> uuid.UUID: ...
    @property
    def card_status(self) -> str: ...
    @property
    def natural_key(self) -> str: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...


class BatchLike(Protocol):
    """What the rules read of a written batch (``ingest.BatchOutcome``)."""

    @property
    def booked(self) -> Sequence[BookedLike]: ...
    @property
    def refused_uses(self) -> Sequence[RefusedLike]: ...


# What the rules need to know of a transaction before asking the database: (id, kind,
# occurred_at, currency, amount_cents).
CandidateRow = tuple[uuid.UUID, str, datetime, str, int]


@dataclass(frozen=True)
class Candidates:
    """The purchases to check, and for each rule that can tell from the transaction alone
    whether it may apply, the few it must look at (so a statement joins only those)."""

    ids: list[uuid.UUID] = field(default_factory=list)  # every purchase: velocity
    unusual_hour: list[uuid.UUID] = field(default_factory=list)
    foreign: list[uuid.UUID] = field(default_factory=list)  # not in the home currency
    large: list[uuid.UUID] = field(default_factory=list)  # home currency, at least the floor


def candidates(settings: Settings, rows: Iterable[CandidateRow]) -> Candidates:
    """The purchases among the rows, sorted per rule; the hour is the bank's local hour
    (``contact_timezone``, daylight saving included)."""
    zone = ZoneInfo(settings.contact_timezone)
    start, end = settings.risk_unusual_hour_start, settings.risk_unusual_hour_end
    found = Candidates()
    for row_id, kind, occurred_at, currency, amount_cents in rows:
        if kind != PURCHASE:
            continue
        found.ids.append(row_id)
        if start <= occurred_at.astimezone(zone).hour < end:
            found.unusual_hour.append(row_id)
        if currency != settings.risk_home_currency:
            found.foreign.append(row_id)
        elif amount_cents >= settings.risk_spike_floor_cents:
            found.large.append(row_id)
    return found
