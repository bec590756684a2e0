"""The customer filter input (``customers``, ``segmentCounts``, saved segments) and its
conversion to ``resolvers.customers.segment_filter.SegmentFilter``; the conditions, their
checks and the policy rule for guarded fields are there."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from models.customers.customer import LifecycleStage, RiskGrade
from models.growth.tier import TierCode
from resolvers.customers.segment_filter import Range, SegmentFilter, spend_range, spend_yuan
from schema.relay import to_global_id, uuid_of

_ANY_OF = " Any of them; empty or null: no condition."
_GUARDED = " FORBIDDEN for a caller who may not see `{}`."


@strawberry.input(description="Inclusive bounds on a number; a null bound is open.")
class FloatRange:
    min: float | None = strawberry.field(default=None, description="The least value, inclusive.")
    max: float | None = strawberry.field(default=None, description="The most value, inclusive.")


@strawberry.input(description="Inclusive bounds on a whole number; a null bound is open.")
class IntRange:
    min: int | None = strawberry.field(default=None, description="The least value, inclusive.")
    max: int | None = strawberry.field(default=None, description="The most value, inclusive.")


@strawberry.input(description="Inclusive bounds on an amount in yuan; a null bound is open.")
class MoneyRange:
    min: Decimal | None = strawberry.field(default=None, description="The least yuan, inclusive.")
    max: Decimal | None = strawberry.field(default=None, description="The most yuan, inclusive.")


@strawberry.input(description="Narrows `customers`; every given condition must hold.")
class CustomerFilter:
    branch_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this branch's customers (a Branch ID)."
    )
    tier: TierCode | None = strawberry.field(
        default=None, description="Only customers holding this tier."
    )
    tiers: list[TierCode] | None = strawberry.field(
        default=None, description="Only customers holding one of these tiers." + _ANY_OF
    )
    lifecycle_stage: LifecycleStage | None = strawberry.field(
        default=None, description="Only customers in this lifecycle stage."
    )
    lifecycle_stages: list[LifecycleStage] | None = strawberry.field(
        default=None, description="Only customers in one of these lifecycle stages." + _ANY_OF
    )
    risk_grade: RiskGrade | None = strawberry.field(
        default=None,
        description="Only this risk grade." + _GUARDED.format("riskGrade"),
    )
    risk_grades: list[RiskGrade] | None = strawberry.field(
        default=None,
        description="Only these risk grades (a range is its grades, e.g. [D, E])."
        + _ANY_OF
        + _GUARDED.format("riskGrade"),
    )
    segments: list[str] | None = strawberry.field(
        default=None,
        description="Only customers in at least one of these segments (codes such as "
        "`big_ticket`, as the last evaluation computed them)." + _ANY_OF,
    )
    tags: list[str] | None = strawberry.field(
        default=None, description="Only customers carrying at least one of these tags." + _ANY_OF
    )
    churn_score: FloatRange | None = strawberry.field(
        default=None,
        description="Only customers whose last evaluation's churn score (0 to 1) is in the "
        "range; never evaluated: excluded." + _GUARDED.format("churnRisk"),
    )
    spend: MoneyRange | None = strawberry.field(
        default=None,
        description="Only customers whose spend over the evaluation window (`rfm.monetary`, "
        "yuan) is in the range; never evaluated: excluded.",
    )
    days_since_last_transaction: IntRange | None = strawberry.field(
        default=None,
        description="Only customers whose last transaction was this many days before the last "
        "evaluation (`rfm.recencyDays`); never transacted: excluded.",
    )
    activated: bool | None = strawberry.field(
        default=None,
        description="True: only customers with an activated card; false: only those with none.",
    )
    created_from: datetime | None = strawberry.field(
        default=None,
        description="Only customers created at or after this instant (ISO 8601 with an offset).",
    )
    created_to: datetime | None = strawberry.field(
        default=None,
        description="Only customers created before this instant (ISO 8601 with an offset).",
    )


def _joined(one: object | None, many: list[object] | None) -> tuple[str, ...]:
    values = [one] if one is not None else []
    values += many or []
    return tuple(str(getattr(value, "value", value)) for value in values)


def _range(value: FloatRange | IntRange | None) -> Range | None:
    return None if value is None else Range(value.min, value.max)


def to_filter(value: CustomerFilter | None) -> SegmentFilter:
    """The filter as the resolvers take it (unchecked: ``checked_filter`` does that)."""
    if value is None:
        return SegmentFilter()
    return SegmentFilter(
        branch_id=uuid_of(value.branch_id, "Branch", field="filter.branchId")
        if value.branch_id
        else None,
        tiers=_joined(value.tier, value.tiers),  # type: ignore[arg-type]
        lifecycle_stages=_joined(value.lifecycle_stage, value.lifecycle_stages),  # type: ignore[arg-type]
        risk_grades=_joined(value.risk_grade, value.risk_grades),  # type: ignore[arg-type]
        segments=tuple(value.segments or ()),
        tags=tuple(value.tags or ()),
        churn_score=_range(value.churn_score),
        spend_cents=None if value.spend is None else spend_range(value.spend.min, value.spend.max),
        days_since_last_transaction=_range(value.days_since_last_transaction),
        activated=value.activated,
        created_from=value.created_from,
        created_to=value.created_to,
    )


@strawberry.type(description="A saved filter, as it was validated when saved.")
class FilterShown:
    branch_id: strawberry.ID | None = strawberry.field(description="A Branch ID; null: any.")
    tiers: list[TierCode] = strawberry.field(description="Any of these tiers; empty: any.")
    lifecycle_stages: list[LifecycleStage] = strawberry.field(
        description="Any of these stages; empty: any."
    )
    risk_grades: list[RiskGrade] = strawberry.field(description="Any of these grades; empty: any.")
    segments: list[str] = strawberry.field(description="Any of these segments; empty: any.")
    tags: list[str] = strawberry.field(description="Any of these tags; empty: any.")
    churn_score_min: float | None = strawberry.field(description="Least churn score; null: open.")
    churn_score_max: float | None = strawberry.field(description="Most churn score; null: open.")
    spend_min: Decimal | None = strawberry.field(
        description="Least window spend, yuan; null: open."
    )
    spend_max: Decimal | None = strawberry.field(description="Most window spend, yuan; null: open.")
    days_since_last_transaction_min: int | None = strawberry.field(
        description="Fewest days since the last transaction; null: open."
    )
    days_since_last_transaction_max: int | None = strawberry.field(
        description="Most days since the last transaction; null: open."
    )
    activated: bool | None = strawberry.field(
        description="True: with an activated card; false: none; null: either."
    )
    created_from: datetime | None = strawberry.field(description="Created at or after; null: open.")
    created_to: datetime | None = strawberry.field(description="Created before; null: open.")

    @classmethod
    def of(cls, data: SegmentFilter) -> FilterShown:
        churn = data.churn_score or Range()
        days = data.days_since_last_transaction or Range()
        spend_min, spend_max = spend_yuan(data.spend_cents or Range())
        return cls(
            branch_id=strawberry.ID(to_global_id("Branch", data.branch_id))
            if data.branch_id
            else None,
            tiers=[TierCode(code) for code in data.tiers],
            lifecycle_stages=[LifecycleStage(stage) for stage in data.lifecycle_stages],
            risk_grades=[RiskGrade(grade) for grade in data.risk_grades],
            segments=list(data.segments),
            tags=list(data.tags),
            churn_score_min=churn.min,
            churn_score_max=churn.max,
            spend_min=spend_min,
            spend_max=spend_max,
            days_since_last_transaction_min=days.min,
            days_since_last_transaction_max=days.max,
            activated=data.activated,
            created_from=data.created_from,
            created_to=data.created_to,
        )
