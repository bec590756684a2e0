"""Small-group suppression: the one rule that keeps an aggregate from singling a person out.

Statistics shown to partner merchants and marketers hide every figure that was computed
from fewer than ``settings.stats_min_group_size`` distinct customers (default 5): the figure
is null and its group says it is suppressed. The rule is applied **per cell** — to each
figure of each group (a day, an offer, a tier…) on its own, by the number of distinct
customers behind *that* figure: a day with 7 viewers and 2 redeemers shows its views and
hides its redemptions and everything derived from them (redeemed amount, benefit cost).

A figure from no customer at all is 0, not suppressed: there is nobody to single out.

What this does not do: it is cell suppression, not differential privacy. Figures published
at two granularities (an offer's all-time figures and its days; all of a merchant's offers
and one of them) can be subtracted to learn how many customers a hidden cell holds — not who
they are, as no figure names a customer. Callers therefore avoid the cheapest attacks: no
range totals next to suppressed days, and whole days only, never arbitrary time windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Suppressor:
    """Hides figures of 1 to ``min_group_size - 1`` customers; ``Suppressor(0)`` hides none."""

    min_group_size: int

    def hides(self, customers: int) -> bool:
        return 0 < customers < self.min_group_size

    def count(self, customers: int) -> int | None:
        """A count of distinct customers, or None when it is too small to show."""
        return None if self.hides(customers) else customers

    def figure(self, value: T, *, customers: int) -> T | None:
        """A figure (a count of events, a sum of money…) computed from ``customers`` distinct
        customers, or None when they are too few to show it."""
        return None if self.hides(customers) else value


EXACT = Suppressor(0)
"""For callers entitled to exact figures (e.g. staff who may see the customers anyway)."""
