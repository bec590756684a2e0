"""The types of `analytics { risk(range, branch) }`: overdue standing, roll rates, collection,
alert and limit-decision KPIs. Every figure is computed by ``resolvers.analytics.risk``
(definitions there); these types only carry them, money as Decimal yuan."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from core.money import yuan
from models.cards.statement import OverdueBucket
from resolvers.analytics import risk as risk_service
from resolvers.analytics.risk_collections import Collections

BUCKETS = "CURRENT, M1 … M6, M6_PLUS"


@strawberry.type(description="The cards in one overdue bucket now, and what they owe.")
class OverdueBucketFigure:
    bucket: OverdueBucket = strawberry.field(description="The bucket.")
    cards: int = strawberry.field(
        description="Cards with at least one statement whose overdue bucket is this one now."
    )
    balance: Decimal = strawberry.field(
        description="Their balance: each card's latest statement balance (a credit balance "
        "counts 0), summed; Decimal yuan as a string."
    )


@strawberry.type(
    description="Overdue standing now (a snapshot: the range does not apply), over the cards "
    "with at least one statement."
)
class OverdueKpis:
    buckets: list[OverdueBucketFigure] = strawberry.field(
        description=f"Per bucket, every bucket listed in order: {BUCKETS}."
    )
    cards: int = strawberry.field(description="Cards with at least one statement.")
    overdue_cards: int = strawberry.field(description="Of them, those past current (M1 or later).")
    overdue_rate: float | None = strawberry.field(
        description="`overdueCards` / `cards`, 0–1; null when there are no cards."
    )
    balance: Decimal = strawberry.field(
        description="The balance of all those cards (see `buckets.balance`); Decimal yuan."
    )
    overdue_balance: Decimal = strawberry.field(
        description="The balance of the overdue cards; Decimal yuan."
    )
    overdue_balance_rate: float | None = strawberry.field(
        description="`overdueBalance` / `balance`, 0–1; null when `balance` is 0."
    )

    @classmethod
    def from_result(cls, overdue: risk_service.Overdue) -> OverdueKpis:
        return cls(
            buckets=[
                OverdueBucketFigure(
                    bucket=OverdueBucket(item.bucket),
                    cards=item.cards,
                    balance=yuan(item.balance_cents),
                )
                for item in overdue.buckets
            ],
            cards=overdue.cards,
            overdue_cards=overdue.overdue_cards,
            overdue_rate=overdue.card_rate,
            balance=yuan(overdue.balance_cents),
            overdue_balance=yuan(overdue.overdue_balance_cents),
            overdue_balance_rate=overdue.balance_rate,
        )


@strawberry.type(
    description="Roll rate from one bucket: pairs of consecutive statements of a card whose "
    "later statement closed in the range, by the earlier statement's bucket (the bucket each "
    "statement recorded as it closed). A card counts once per pair."
)
class RollRate:
    from_bucket: OverdueBucket = strawberry.field(
        name="from", description="The earlier statement's bucket: CURRENT … M6."
    )
    to_bucket: OverdueBucket = strawberry.field(
        name="to", description="The next bucket on (CURRENT → M1, … M6 → M6_PLUS)."
    )
    count: int = strawberry.field(description="Pairs whose earlier statement was in `from`.")
    rolled: int = strawberry.field(description="Of them, those whose later one was in `to`.")
    rate: float | None = strawberry.field(
        description="The roll rate `rolled` / `count`, 0–1; null when `count` is 0."
    )
    cured: int | None = strawberry.field(
        description="Of them, those whose later one was current; null from CURRENT."
    )
    cure_rate: float | None = strawberry.field(
        description="`cured` / `count`, 0–1; null from CURRENT or when `count` is 0."
    )


@strawberry.type(description="Collection (催收) KPIs of the range.")
class CollectionKpis:
    cases: int = strawberry.field(
        description="Collection cases open at any time in the range: opened before `to` and "
        "not closed before `from`."
    )
    cured: int = strawberry.field(
        description="Of them, those closed as cured (the card current again) in the range."
    )
    cure_rate: float | None = strawberry.field(
        description="Cure rate: `cured` / `cases`, 0–1; null when there are no cases."
    )
    contacted: int = strawberry.field(
        description="Of `cases`, those with at least one collection contact in the range."
    )
    contact_rate: float | None = strawberry.field(
        description="Contact rate: `contacted` / `cases`, 0–1; null when there are no cases."
    )
    promises: int = strawberry.field(
        description="Promises to pay (contacts with that outcome) for a day of the range: from "
        "the bank-local day `from` falls on up to, not including, the one `to` falls on."
    )
    kept: int = strawberry.field(
        description="Of them, those kept: the card's repayments from the contact to the end of "
        "the promised day (local) add up to at least the promised amount."
    )
    promise_kept_rate: float | None = strawberry.field(
        description="`kept` / `promises`, 0–1; null when there are none."
    )

    @classmethod
    def from_result(cls, figures: Collections) -> CollectionKpis:
        return cls(
            cases=figures.cases,
            cured=figures.cured,
            cure_rate=figures.cure_rate,
            contacted=figures.contacted,
            contact_rate=figures.contact_rate,
            promises=figures.promises,
            kept=figures.kept,
            promise_kept_rate=figures.promise_kept_rate,
        )


@strawberry.type(description="Risk alerts raised in the range by one rule, and their outcome.")
class AlertRuleKpis:
    rule: str = strawberry.field(
        description="The rule, lower case as stored (e.g. `velocity`, `amount_spike`); `all` "
        "for the total over every rule."
    )
    count: int = strawberry.field(description="Alerts raised in the range.")
    resolved: int = strawberry.field(
        description="Of them, those now resolved: confirmed fraud, legitimate or false positive."
    )
    confirmed_fraud: int = strawberry.field(
        description="Of them, those now resolved as confirmed fraud."
    )
    confirmed_fraud_share: float | None = strawberry.field(
        description="`confirmedFraud` / `resolved`, 0–1; null when none is resolved."
    )

    @classmethod
    def from_result(cls, figure: risk_service.AlertFigure) -> AlertRuleKpis:
        return cls(
            rule=figure.rule,
            count=figure.count,
            resolved=figure.resolved,
            confirmed_fraud=figure.confirmed_fraud,
            confirmed_fraud_share=figure.fraud_share,
        )


@strawberry.type(description="Credit-limit decisions of the range, by outcome.")
class LimitDecisionKpis:
    requested: int = strawberry.field(description="Limit change requests made in the range.")
    approved: int = strawberry.field(description="Requests approved in the range.")
    rejected: int = strawberry.field(description="Requests rejected in the range.")
    cancelled: int = strawberry.field(
        description="Requests cancelled by their requester in the range."
    )
    risk_decreases: int = strawberry.field(
        description="Risk-driven limit decreases (降低信用额度) made in the range."
    )


@strawberry.type(
    description="Risk KPIs of a range; rates are 0–1 and null when nothing was counted. Exact "
    "figures: nothing here is suppressed."
)
class RiskKpis:
    overdue: OverdueKpis = strawberry.field(
        description="Overdue cards and balance by bucket now (a snapshot)."
    )
    roll_rates: list[RollRate] = strawberry.field(
        description="Roll rates between buckets, one per from-bucket CURRENT … M6, in order."
    )
    collections: CollectionKpis = strawberry.field(
        description="Cure, contact and promise-kept rates of the collection cases."
    )
    alerts: list[AlertRuleKpis] = strawberry.field(
        description="Alerts raised in the range per rule, every rule listed."
    )
    alert_total: AlertRuleKpis = strawberry.field(
        description="Alerts raised in the range over every rule (`rule` is `all`)."
    )
    limit_decisions: LimitDecisionKpis = strawberry.field(
        description="Credit-limit requests and decisions of the range."
    )

    @classmethod
    def from_result(cls, kpis: risk_service.RiskKpis) -> RiskKpis:
        limits = kpis.limits
        return cls(
            overdue=OverdueKpis.from_result(kpis.overdue),
            roll_rates=[
                RollRate(
                    from_bucket=OverdueBucket(item.from_bucket),
                    to_bucket=OverdueBucket(item.to_bucket),
                    count=item.count,
                    rolled=item.rolled,
                    rate=item.rate,
                    cured=item.cured,
                    cure_rate=item.cure_rate,
                )
                for item in kpis.roll_rates
            ],
            collections=CollectionKpis.from_result(kpis.collections),
            alerts=[AlertRuleKpis.from_result(item) for item in kpis.alerts],
            alert_total=AlertRuleKpis.from_result(kpis.alert_total),
            limit_decisions=LimitDecisionKpis(
                requested=limits.requested,
                approved=limits.approved,
                rejected=limits.rejected,
                cancelled=limits.cancelled,
                risk_decreases=limits.risk_decreases,
            ),
        )
