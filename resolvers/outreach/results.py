"""``Campaign.results``: who was reached, who reached the goal, and the lift over control.

Counted in SQL from the tables the goal is made of, over the goal window
[launched_at, launched_at + goal_window_days):

* OFFER_ACCEPTANCE: the campaign's offer accepted (``offer_assignments.accepted_at``);
* CARD_ACTIVATION: a card of theirs activated (``cards.activated_at``);
* SPEND: their purchases summing to at least ``goal_spend_cents``;
* REACTIVATION: any purchase.

The lift is the treatment (messaged) rate minus the control rate, with a 95 % confidence
interval by the Wald interval for the difference of two independent proportions:
``(p1 - p2) ± 1.96 · sqrt(p1(1 - p1)/n1 + p2(1 - p2)/n2)``. Either group empty: no rates.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, case, exists, func, union_all
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.cards.card import Card
from models.growth.offer import OfferAssignment
from models.outreach.campaign import Campaign, CampaignGoal, CampaignRecipient, RecipientOutcome
from models.outreach.message import MessageStatus, OutboundMessage
from models.transactions.transaction import Transaction, TransactionKind

if TYPE_CHECKING:
    from core.context import Context

Z_95 = 1.959964  # the standard normal quantile of 97.5 %


@dataclass(frozen=True)
class Rate:
    """Successes out of a group, and their share (None for an empty group)."""

    size: int
    reached: int

    @property
    def rate(self) -> float | None:
        return self.reached / self.size if self.size else None


@dataclass(frozen=True)
class Lift:
    value: float
    low: float
    high: float


def lift(treatment: Rate, control: Rate) -> Lift | None:
    """Treatment rate − control rate with its 95 % Wald interval (difference of two
    proportions); None when either group is empty."""
    p1, p2 = treatment.rate, control.rate
    if p1 is None or p2 is None:
        return None
    diff = p1 - p2
    spread = Z_95 * math.sqrt(p1 * (1 - p1) / treatment.size + p2 * (1 - p2) / control.size)
    return Lift(diff, diff - spread, diff + spread)


@dataclass(frozen=True)
class CampaignResults:
    audience: int
    control: int
    messaged: int
    no_consent: int
    delivered: int
    treatment_goal: Rate
    control_goal: Rate
    lift: Lift | None


def _purchases(customer: Any, start: datetime, end: datetime) -> Any:
    return (
        select(func.coalesce(func.sum(col(Transaction.amount_cents)), 0))
        .join(Card, col(Card.id) == col(Transaction.card_id))
        .where(
            col(Card.customer_id) == customer,
            col(Transaction.kind) == TransactionKind.PURCHASE.value,
            col(Transaction.occurred_at) >= start,
            col(Transaction.occurred_at) < end,
        )
        .scalar_subquery()
    )


def goal_reached(campaign: Campaign, start: datetime, end: datetime) -> ColumnElement[bool]:
    """Whether the recipient row's customer reached the campaign's goal in [start, end)."""
    customer = col(CampaignRecipient.customer_id)
    goal = CampaignGoal(campaign.goal)
    if goal is CampaignGoal.OFFER_ACCEPTANCE:
        accepted = col(OfferAssignment.accepted_at)
        return exists().where(
            col(OfferAssignment.offer_id) == campaign.offer_id,
            col(OfferAssignment.customer_id) == customer,
            accepted >= start,
            accepted < end,
        )
    if goal is CampaignGoal.CARD_ACTIVATION:
        activated = col(Card.activated_at)
        return exists().where(
            col(Card.customer_id) == customer, activated >= start, activated < end
        )
    threshold = campaign.goal_spend_cents if goal is CampaignGoal.SPEND else 1
    reached: ColumnElement[bool] = _purchases(customer, start, end) >= (threshold or 1)
    return reached


def _window(campaign: Campaign) -> tuple[datetime, datetime]:
    assert campaign.launched_at is not None
    return campaign.launched_at, campaign.launched_at + timedelta(days=campaign.goal_window_days)


def _counts(campaign: Campaign) -> Any:
    """The campaign's recipients per outcome, and how many of each reached the goal."""
    reached = case((goal_reached(campaign, *_window(campaign)), 1), else_=0)
    recipient_campaign, outcome = col(CampaignRecipient.campaign_id), col(CampaignRecipient.outcome)
    return (
        select(recipient_campaign, outcome, func.count(), func.sum(reached))
        .where(recipient_campaign == campaign.id)
        .group_by(recipient_campaign, outcome)
    )


def _results(counts: dict[str, tuple[int, int]], delivered: int) -> CampaignResults:
    treatment = Rate(*counts.get(RecipientOutcome.MESSAGED.value, (0, 0)))
    control = Rate(*counts.get(RecipientOutcome.CONTROL.value, (0, 0)))
    return CampaignResults(
        audience=sum(size for size, _ in counts.values()),
        control=control.size,
        messaged=treatment.size,
        no_consent=counts.get(RecipientOutcome.NO_CONSENT.value, (0, 0))[0],
        delivered=delivered,
        treatment_goal=treatment,
        control_goal=control,
        lift=lift(treatment, control),
    )


async def results_of(db: Any, campaigns: Sequence[Campaign]) -> dict[uuid.UUID, CampaignResults]:
    """The results so far of the launched ones of ``campaigns``, in two statements however
    many: each campaign's goal and window differ, so its counts are one SELECT of a
    UNION ALL; the delivered messages one GROUP BY."""
    launched = [campaign for campaign in campaigns if campaign.launched_at is not None]
    if not launched:
        return {}
    grouped = await db.execute(union_all(*(_counts(campaign) for campaign in launched)))
    counts: dict[uuid.UUID, dict[str, tuple[int, int]]] = defaultdict(dict)
    for campaign_id, outcome, size, reached in grouped.all():
        counts[campaign_id][outcome] = (int(size), int(reached or 0))
    message_campaign = col(OutboundMessage.campaign_id)
    sent = await db.execute(
        select(message_campaign, func.count())
        .where(
            message_campaign.in_([campaign.id for campaign in launched]),
            col(OutboundMessage.status) == MessageStatus.SENT.value,
        )
        .group_by(message_campaign)
    )
    delivered = {row[0]: int(row[1]) for row in sent.all()}
    return {
        campaign.id: _results(counts[campaign.id], delivered.get(campaign.id, 0))
        for campaign in launched
    }


class CampaignResultsByIdLoader(DataLoader[uuid.UUID, CampaignResults | None]):
    """Results per campaign, for a whole page of campaigns in three statements (the
    campaigns, their counts, their deliveries), once per request however many of their
    fields are read."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[CampaignResults | None]:
        rows = await self._db.scalars(select(Campaign).where(col(Campaign.id).in_(keys)))
        found = await results_of(self._db, rows)
        return [found.get(key) for key in keys]
