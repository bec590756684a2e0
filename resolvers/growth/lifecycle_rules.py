"""The lifecycle rules: a customer's figures in; stage, churn risk with reasons and segments out.

Pure functions over ``CustomerFigures`` (what the evaluation's one aggregate query computes per
customer, see ``resolvers.growth.evaluation_decision``) and ``LifecycleRules`` (the thresholds,
all from ``core.settings``), so each rule can be read, tested and changed here without a
database.

**Churn risk** is a score from 0 to 1 built from three warning signs. Each counts only once it
crosses its threshold, and each one counted is listed as a reason, so the reasons always
explain the whole score:

- silence: no transaction for ``churn_inactive_days`` or more; weighs recency / dormant days
  (0.5 at 45 of 90 days, 1 once dormant);
- spend drop: spend in the last ``churn_compare_days`` fell by ``churn_spend_drop_ratio`` or
  more against the period before; weighs the fall itself (0.6 for a 60% fall);
- frequency drop: the number of transactions fell as much; weighs half the fall, so it raises
  the risk but does not make a customer at risk on its own.

They combine as independent chances, ``1 - Π(1 - weight)``: any sign alone is its own weight,
two together weigh more than either, and the score never leaves 0..1. A customer who never
transacted has no churn risk: there is nothing to lose yet.

**Stage**, the first rule that matches wins:

1. never transacted: ``new`` within ``lifecycle_new_days`` of joining, else ``prospect``;
2. ``churned``: no transaction for ``lifecycle_churned_days``;
3. ``dormant`` (沉睡): no transaction for ``lifecycle_dormant_days``;
4. ``at_risk`` (流失预警): churn score of ``lifecycle_at_risk_score`` or more;
5. ``new``: joined within ``lifecycle_new_days``;
6. ``loyal``: last transaction within ``lifecycle_active_recency_days``, at least
   ``lifecycle_loyal_min_frequency`` transactions in the window and a customer for
   ``lifecycle_loyal_min_tenure_days``;
7. ``active``: everyone else, i.e. has transacted recently enough and shows no risk.

**Segments** (over the evaluation window): ``high_frequency`` (at least
``segment_high_frequency_min`` transactions), ``big_ticket`` (average ticket of at least
``segment_big_ticket_min_cents``), and one segment per merchant category (``dining``,
``travel``, ...) holding at least ``segment_category_share`` of the spend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.settings import Settings
from models.customers.customer import LifecycleStage
from models.transactions.transaction import MerchantCategory

HIGH_FREQUENCY = "high_frequency"
BIG_TICKET = "big_ticket"
CATEGORY_SEGMENTS = tuple(c.value for c in MerchantCategory if c is not MerchantCategory.OTHER)
SEGMENTS = (HIGH_FREQUENCY, BIG_TICKET, *CATEGORY_SEGMENTS)

SILENCE_WEIGHT = 1.0
SPEND_DROP_WEIGHT = 1.0
FREQUENCY_DROP_WEIGHT = 0.5


@dataclass(frozen=True)
class CustomerFigures:
    """One customer's activity as of the evaluation instant."""

    tenure_days: int
    # None: the customer has never made a transaction.
    recency_days: int | None
    # Transactions and spend in the evaluation window.
    frequency: int = 0
    monetary_cents: int = 0
    # The last ``churn_compare_days`` and the same length of time before them.
    recent_spend_cents: int = 0
    prior_spend_cents: int = 0
    recent_transactions: int = 0
    prior_transactions: int = 0
    # Merchant category → spend in the window, in cents.
    category_spend: Mapping[str, int] = field(default_factory=dict)

    @property
    def avg_ticket_cents(self) -> int:
        return self.monetary_cents // self.frequency if self.frequency else 0


@dataclass(frozen=True)
class LifecycleRules:
    window_days: int = 90
    new_days: int = 90
    active_recency_days: int = 30
    loyal_min_frequency: int = 24
    loyal_min_tenure_days: int = 365
    at_risk_score: float = 0.5
    dormant_days: int = 90
    churned_days: int = 180
    churn_inactive_days: int = 45
    churn_drop_ratio: float = 0.6
    churn_compare_days: int = 90
    high_frequency_min: int = 30
    big_ticket_min_cents: int = 200_000
    category_share: float = 0.3

    @classmethod
    def from_settings(cls, settings: Settings) -> LifecycleRules:
        return cls(
            window_days=settings.evaluation_window_days,
            new_days=settings.lifecycle_new_days,
            active_recency_days=settings.lifecycle_active_recency_days,
            loyal_min_frequency=settings.lifecycle_loyal_min_frequency,
            loyal_min_tenure_days=settings.lifecycle_loyal_min_tenure_days,
            at_risk_score=settings.lifecycle_at_risk_score,
            dormant_days=settings.lifecycle_dormant_days,
            churned_days=settings.lifecycle_churned_days,
            churn_inactive_days=settings.churn_inactive_days,
            churn_drop_ratio=settings.churn_spend_drop_ratio,
            churn_compare_days=settings.churn_compare_days,
            high_frequency_min=settings.segment_high_frequency_min,
            big_ticket_min_cents=settings.segment_big_ticket_min_cents,
            category_share=settings.segment_category_share,
        )


@dataclass(frozen=True)
class ChurnRisk:
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assessment:
    stage: LifecycleStage
    # Why the customer is in this stage, in words (goes to the lifecycle history).
    reason: str
    churn: ChurnRisk
    segments: tuple[str, ...]


def yuan(cents: int) -> str:
    """¥1,234 or ¥1,234.50: amounts in reasons, for people to read."""
    whole, fraction = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}¥{whole:,}" + (f".{fraction:02d}" if fraction else "")


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def _fall(before: int, after: int) -> float:
    """How much a figure fell, 0..1 (0 when there was nothing before to fall from)."""
    if before <= 0:
        return 0.0
    return min(1.0, max(0.0, (before - after) / before))


def churn_risk(figures: CustomerFigures, rules: LifecycleRules) -> ChurnRisk:
    if figures.recency_days is None:
        return ChurnRisk(0.0)
    period = _days(rules.churn_compare_days)
    signs: list[tuple[float, str]] = []
    if figures.recency_days >= rules.churn_inactive_days:
        silence = min(1.0, figures.recency_days / max(1, rules.dormant_days))
        signs.append((SILENCE_WEIGHT * silence, f"no transaction in {_days(figures.recency_days)}"))
    spend_fall = _fall(figures.prior_spend_cents, figures.recent_spend_cents)
    if spend_fall >= rules.churn_drop_ratio:
        before, after = yuan(figures.prior_spend_cents), yuan(figures.recent_spend_cents)
        signs.append(
            (
                SPEND_DROP_WEIGHT * spend_fall,
                f"spend fell {spend_fall:.0%} over {period} ({before} → {after})",
            )
        )
    count_fall = _fall(figures.prior_transactions, figures.recent_transactions)
    if count_fall >= rules.churn_drop_ratio:
        before_n, after_n = figures.prior_transactions, figures.recent_transactions
        signs.append(
            (
                FREQUENCY_DROP_WEIGHT * count_fall,
                f"frequency fell {count_fall:.0%} over {period} "
                f"({before_n} → {after_n} transactions)",
            )
        )
    remaining = 1.0
    for weight, _ in signs:
        remaining *= 1.0 - weight
    return ChurnRisk(round(1.0 - remaining, 3), tuple(reason for _, reason in signs))


def lifecycle_stage(
    figures: CustomerFigures, rules: LifecycleRules, churn: ChurnRisk
) -> tuple[LifecycleStage, str]:
    """The stage and why, by the precedence in this module's docstring."""
    tenure, recency = figures.tenure_days, figures.recency_days
    is_new = tenure < rules.new_days
    if recency is None:
        if is_new:
            return LifecycleStage.NEW, f"joined {_days(max(0, tenure))} ago, no transaction yet"
        return LifecycleStage.PROSPECT, f"no transaction in the {_days(tenure)} since joining"
    if recency >= rules.churned_days:
        return LifecycleStage.CHURNED, f"no transaction in {_days(recency)}"
    if recency >= rules.dormant_days:
        return LifecycleStage.DORMANT, f"no transaction in {_days(recency)}"
    if churn.score >= rules.at_risk_score:
        return LifecycleStage.AT_RISK, f"churn risk {churn.score:.2f}: " + "; ".join(churn.reasons)
    activity = (
        f"last transaction {_days(recency)} ago; {figures.frequency} transactions, "
        f"{yuan(figures.monetary_cents)} in {_days(rules.window_days)}"
    )
    if is_new:
        return LifecycleStage.NEW, f"joined {_days(max(0, tenure))} ago; {activity}"
    if (
        recency <= rules.active_recency_days
        and figures.frequency >= rules.loyal_min_frequency
        and tenure >= rules.loyal_min_tenure_days
    ):
        return LifecycleStage.LOYAL, f"{activity}; a customer for {_days(tenure)}"
    return LifecycleStage.ACTIVE, activity


def segments(figures: CustomerFigures, rules: LifecycleRules) -> tuple[str, ...]:
    """Behavioural segments, always in the order of ``SEGMENTS``."""
    found: list[str] = []
    if figures.frequency >= rules.high_frequency_min:
        found.append(HIGH_FREQUENCY)
    if figures.frequency > 0 and figures.avg_ticket_cents >= rules.big_ticket_min_cents:
        found.append(BIG_TICKET)
    if figures.monetary_cents > 0:
        floor = rules.category_share * figures.monetary_cents
        found += [c for c in CATEGORY_SEGMENTS if figures.category_spend.get(c, 0) >= floor]
    return tuple(found)


def assess(figures: CustomerFigures, rules: LifecycleRules) -> Assessment:
    churn = churn_risk(figures, rules)
    stage, reason = lifecycle_stage(figures, rules, churn)
    return Assessment(stage, reason, churn, segments(figures, rules))
