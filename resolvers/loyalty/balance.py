"""What a customer's ledger adds up to: the balance, and which points expire when.

Debits spend the oldest points first (FIFO, as the expiry batch counts them: see
``resolvers.loyalty.expiry``). So with the credits ordered by their expiry, the points of
the k-th expiry still unspent are ``clamp(credits up to k − all debits, 0, credits of k)``.
Credits that never expire (a positive adjustment) are spent last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Expiry:
    """``points`` unspent points whose validity ends at ``at`` (the first instant after)."""

    points: int
    at: datetime


def unspent_by_expiry(credits: Iterable[tuple[datetime, int]], debits: int) -> list[Expiry]:
    """The unspent points of each expiry instant, oldest first, leaving out those spent."""
    left: list[Expiry] = []
    total = 0
    for at, points in sorted(credits):
        total += points
        unspent = min(points, total - debits)
        if unspent > 0:
            left.append(Expiry(unspent, at))
    return left
