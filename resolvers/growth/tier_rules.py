"""Tier qualification and progress: pure functions over the tier ladder and a year's figures.

A customer qualifies for the highest tier whose ``min_annual_spend_cents`` AND
``min_transactions`` they both meet over the last ``ANNUAL_DAYS``; the lowest tier needs
nothing. Evaluation moves the customer to that tier (an upgrade or a downgrade, with the reason
in words) unless a supervisor's override still holds. ``tier_progress`` tells a mobile app
how far the customer is from the tier above the one they hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from models.growth.tier import Tier, TierChange
from resolvers.growth.lifecycle_rules import yuan

ANNUAL_DAYS = 365
_RANK = attrgetter("rank")


@dataclass(frozen=True)
class TierRule:
    id: uuid.UUID
    code: str
    rank: int
    min_spend_cents: int = 0
    min_transactions: int = 0

    def admits(self, spend_cents: int, transactions: int) -> bool:
        return spend_cents >= self.min_spend_cents and transactions >= self.min_transactions

    def needs(self) -> str:
        return f"{yuan(self.min_spend_cents)} and {self.min_transactions} transactions"

    @classmethod
    def from_row(cls, row: Tier) -> TierRule:
        return cls(row.id, row.code, row.rank, row.min_annual_spend_cents, row.min_transactions)


@dataclass(frozen=True)
class TierDecision:
    tier: TierRule
    change: TierChange
    reason: str


@dataclass(frozen=True)
class TierProgress:
    current: TierRule
    # None: the customer holds the top tier.
    next: TierRule | None
    annual_spend_cents: int
    annual_transactions: int
    spend_needed_cents: int
    transactions_needed: int
    # 0..100: the lesser of the two criteria's progress, since the next tier needs both.
    percent: float


def _by_rank(ladder: Sequence[TierRule]) -> list[TierRule]:
    if not ladder:
        raise ValueError("the tier ladder is empty; seed the tiers first")
    return sorted(ladder, key=_RANK)


def qualify(ladder: Sequence[TierRule], spend_cents: int, transactions: int) -> TierRule:
    """The highest tier whose both thresholds are met; the lowest tier if none is."""
    ordered = _by_rank(ladder)
    admitted = [rule for rule in ordered if rule.admits(spend_cents, transactions)]
    return admitted[-1] if admitted else ordered[0]


def tier_decision(
    ladder: Sequence[TierRule], current_id: uuid.UUID, spend_cents: int, transactions: int
) -> TierDecision | None:
    """The move evaluation makes, with its reason; None when the tier stays."""
    target = qualify(ladder, spend_cents, transactions)
    if target.id == current_id:
        return None
    current = next((rule for rule in ladder if rule.id == current_id), None)
    figures = f"annual spend {yuan(spend_cents)} over {transactions} transactions"
    if current is None or target.rank > current.rank:
        return TierDecision(target, TierChange.UPGRADE, f"{figures} qualifies for {target.code}")
    return TierDecision(
        target,
        TierChange.DOWNGRADE,
        f"{figures} qualifies for {target.code} only; {current.code} needs {current.needs()}",
    )


def _permille(have: int, need: int) -> int:
    """Progress towards ``need`` in tenths of a percent, rounded down: 1000 only once met."""
    return 1000 if need <= 0 else min(1000, max(0, have * 1000 // need))


def tier_progress(
    ladder: Sequence[TierRule], current_id: uuid.UUID, spend_cents: int, transactions: int
) -> TierProgress:
    ordered = _by_rank(ladder)
    current = next((rule for rule in ordered if rule.id == current_id), ordered[0])
    above = [rule for rule in ordered if rule.rank > current.rank]
    if not above:
        return TierProgress(current, None, spend_cents, transactions, 0, 0, 100.0)
    target = above[0]
    permille = min(
        _permille(spend_cents, target.min_spend_cents),
        _permille(transactions, target.min_transactions),
    )
    return TierProgress(
        current,
        target,
        spend_cents,
        transactions,
        max(0, target.min_spend_cents - spend_cents),
        max(0, target.min_transactions - transactions),
        permille / 10,
    )
