"""What evaluation says about a customer (tier progress, churn risk, RFM, the histories) and
the two mutations around it: ``evaluateCustomers`` (admins) and ``overrideCustomerTier``
(supervisors). Thin: each field loads through the request's DataLoaders and calls resolvers/.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.context import Info
from api.errors import BadUserInput, Forbidden
from auth.policy import Access, rule_for
from models.customer import Customer as CustomerRow
from models.customer import LifecycleHistory as LifecycleHistoryRow
from models.customer import LifecycleStage
from models.customer_metrics import CustomerMetrics
from models.tier import TierChange, TierCode
from models.tier import TierHistory as TierHistoryRow
from resolvers import evaluation as evaluation_service
from resolvers import tier_override as override_service
from resolvers import tier_rules
from resolvers.loaders import TIER_LADDER
from schema.common import UserError, run_mutation
from schema.money import yuan, yuan_or_none
from schema.organisation import StaffMember
from schema.relay import uuid_of
from schema.tier import Tier

if TYPE_CHECKING:
    from schema.customer_operations import CustomerPayload

MAX_HISTORY = 50


@strawberry.type(
    description="How far the customer is from the next tier, from the last evaluation."
)
class TierProgress:
    current_tier: Tier
    next_tier: Tier | None = strawberry.field(description="null at the top tier.")
    annual_spend: Decimal = strawberry.field(description="Spend in the last 365 days, yuan.")
    annual_transactions: int
    spend_needed: Decimal = strawberry.field(description="Yuan still missing for the next tier.")
    transactions_needed: int
    percent: float = strawberry.field(
        description="0–100: the lesser of spend and transaction progress (the next tier "
        "needs both), rounded down."
    )
    evaluated_at: datetime | None = strawberry.field(
        description="When the figures were computed; null: never evaluated (figures are 0)."
    )


@strawberry.type(description="Recency, frequency and monetary value over the evaluation window.")
class Rfm:
    recency_days: int | None = strawberry.field(description="null: no transaction ever.")
    frequency: int
    monetary: Decimal = strawberry.field(description="Spend in the window, yuan.")
    window_days: int
    evaluated_at: datetime

    @classmethod
    def from_row(cls, row: CustomerMetrics) -> Rfm:
        return cls(
            recency_days=row.recency_days,
            frequency=row.frequency,
            monetary=yuan(row.monetary_cents),
            window_days=row.window_days,
            evaluated_at=row.evaluated_at,
        )


@strawberry.type(description="The churn-risk score (0–1) and the warning signs behind it.")
class ChurnRisk:
    _customer_id: strawberry.Private[uuid.UUID]

    async def _metrics(self, info: Info) -> CustomerMetrics | None:
        return await info.context.loaders.metrics_by_customer_id.load(self._customer_id)

    @strawberry.field(description="0 (no sign) to 1; null: never evaluated.")
    async def score(self, info: Info) -> float | None:
        metrics = await self._metrics(info)
        return metrics.churn_score if metrics else None

    @strawberry.field(description="One line per warning sign, e.g. 'no transaction in 45 days'.")
    async def reasons(self, info: Info) -> list[str]:
        metrics = await self._metrics(info)
        return list(metrics.churn_reasons) if metrics else []

    @strawberry.field(description="When the score was computed; null: never evaluated.")
    async def evaluated_at(self, info: Info) -> datetime | None:
        metrics = await self._metrics(info)
        return metrics.evaluated_at if metrics else None


@strawberry.type(description="A change of lifecycle stage, with the figures that caused it.")
class LifecycleChange:
    from_stage: LifecycleStage | None
    to_stage: LifecycleStage
    reason: str
    recency_days: int | None
    frequency: int | None
    monetary: Decimal | None
    churn_score: float | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: LifecycleHistoryRow) -> LifecycleChange:
        return cls(
            from_stage=LifecycleStage(row.from_stage) if row.from_stage else None,
            to_stage=LifecycleStage(row.to_stage),
            reason=row.reason,
            recency_days=row.recency_days,
            frequency=row.frequency,
            monetary=yuan_or_none(row.monetary_cents),
            churn_score=row.churn_score,
            created_at=row.created_at,
        )


@strawberry.type(description="A change of tier: by evaluation (upgrade, downgrade) or override.")
class TierChangeEntry:
    change: TierChange
    reason: str
    created_at: datetime
    _row: strawberry.Private[TierHistoryRow]

    @strawberry.field
    async def from_tier(self, info: Info) -> Tier | None:
        if self._row.from_tier_id is None:
            return None
        row = await info.context.loaders.tier_by_id.load(self._row.from_tier_id)
        return Tier.from_row(row) if row else None

    @strawberry.field
    async def to_tier(self, info: Info) -> Tier:
        row = await info.context.loaders.tier_by_id.load(self._row.to_tier_id)
        assert row is not None
        return Tier.from_row(row)

    @strawberry.field(description="Who overrode the tier; null for evaluation's changes.")
    async def actor(self, info: Info) -> StaffMember | None:
        if self._row.actor_id is None:
            return None
        row = await info.context.loaders.staff_user_by_id.load(self._row.actor_id)
        return StaffMember.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: TierHistoryRow) -> TierChangeEntry:
        return cls(
            change=TierChange(row.change), reason=row.reason, created_at=row.created_at, _row=row
        )


# -- the Customer fields (schema/customer.py calls these) ----------------------------------


async def tier_progress_of(info: Info, customer: CustomerRow) -> TierProgress:
    loaders = info.context.loaders
    tiers = await loaders.tier_ladder.load(TIER_LADDER)
    metrics = await loaders.metrics_by_customer_id.load(customer.id)
    spend = metrics.annual_spend_cents if metrics else 0
    count = metrics.annual_transactions if metrics else 0
    progress = tier_rules.tier_progress(
        [tier_rules.TierRule.from_row(tier) for tier in tiers], customer.tier_id, spend, count
    )
    by_id = {tier.id: tier for tier in tiers}
    return TierProgress(
        current_tier=Tier.from_row(by_id[progress.current.id]),
        next_tier=Tier.from_row(by_id[progress.next.id]) if progress.next else None,
        annual_spend=yuan(spend),
        annual_transactions=count,
        spend_needed=yuan(progress.spend_needed_cents),
        transactions_needed=progress.transactions_needed,
        percent=progress.percent,
        evaluated_at=metrics.evaluated_at if metrics else None,
    )


async def rfm_of(info: Info, customer_id: uuid.UUID) -> Rfm | None:
    metrics = await info.context.loaders.metrics_by_customer_id.load(customer_id)
    return Rfm.from_row(metrics) if metrics else None


def _require(info: Info, field_name: str, first: int) -> None:
    """The policy table's verdict on an async field (the policy extension is sync-only), and
    a sane page size."""
    if rule_for("Customer", field_name).access_for(info.context.principal) is Access.DENIED:
        raise Forbidden(f"Customer.{field_name} is not visible to this caller")
    if not 1 <= first <= MAX_HISTORY:
        raise BadUserInput(f"first must be between 1 and {MAX_HISTORY}", field="first")


async def lifecycle_history_of(
    info: Info, customer_id: uuid.UUID, first: int
) -> list[LifecycleChange]:
    _require(info, "lifecycleHistory", first)
    rows = await info.context.loaders.lifecycle_history_by_customer.load((customer_id, first))
    return [LifecycleChange.from_row(row) for row in rows]


async def tier_history_of(info: Info, customer_id: uuid.UUID, first: int) -> list[TierChangeEntry]:
    _require(info, "tierHistory", first)
    rows = await info.context.loaders.tier_history_by_customer.load((customer_id, first))
    return [TierChangeEntry.from_row(row) for row in rows]


# -- the mutations -------------------------------------------------------------------------


@strawberry.type
class StageCount:
    stage: LifecycleStage
    count: int


@strawberry.type(description="What one evaluation run did.")
class EvaluationSummary:
    as_of: datetime
    evaluated: int
    stage_changes: list[StageCount] = strawberry.field(
        description="Customers moved into each stage (only stages someone moved into)."
    )
    upgrades: int
    downgrades: int
    segment_changes: int
    overrides_kept: int = strawberry.field(description="Tiers left alone by an override.")
    skipped: int = strawberry.field(
        description="Customers changed by someone else meanwhile; the next run catches up."
    )
    seconds: float

    @classmethod
    def of(cls, summary: evaluation_service.EvaluationSummary) -> EvaluationSummary:
        return cls(
            as_of=summary.as_of,
            evaluated=summary.evaluated,
            stage_changes=[
                StageCount(stage=stage, count=summary.stage_changes[stage.value])
                for stage in LifecycleStage
                if summary.stage_changes[stage.value]
            ],
            upgrades=summary.upgrades,
            downgrades=summary.downgrades,
            segment_changes=summary.segment_changes,
            overrides_kept=summary.overrides_kept,
            skipped=summary.skipped,
            seconds=summary.seconds,
        )


@strawberry.input
class EvaluateCustomersInput:
    as_of: datetime | None = strawberry.field(
        default=None, description="Evaluate as of this instant (with offset); default now."
    )


@strawberry.type
class EvaluateCustomersPayload:
    summary: EvaluationSummary | None
    user_errors: list[UserError]


@strawberry.input
class OverrideCustomerTierInput:
    customer_id: strawberry.ID
    tier: TierCode
    reason: str = strawberry.field(description="Why, in words; stored in the tier history.")
    version: int


@strawberry.type
class EvaluationMutation:
    @strawberry.mutation(
        description="Evaluates every customer now (role admin, scope admin); audited."
    )
    async def evaluate_customers(
        self, info: Info, input: EvaluateCustomersInput | None = None
    ) -> EvaluateCustomersPayload:
        ctx = info.context

        async def work() -> EvaluateCustomersPayload:
            async with ctx.db.exclusive() as session:
                summary = await evaluation_service.evaluate_as_admin(
                    database=ctx.state.database,
                    session=session,
                    settings=ctx.settings,
                    principal=ctx.principal,
                    as_of=input.as_of if input else None,
                    audit_event=ctx.audit_event,
                )
            return EvaluateCustomersPayload(summary=EvaluationSummary.of(summary), user_errors=[])

        return await run_mutation(
            work, lambda errors: EvaluateCustomersPayload(summary=None, user_errors=errors)
        )

    @strawberry.mutation(
        description="Sets a customer's tier with a written reason (supervisors, admins; "
        "audited); evaluation then leaves the tier alone for CARDCRM_TIER_OVERRIDE_DAYS "
        "(default 365). A stale `version` is a CONFLICT."
    )
    async def override_customer_tier(
        self, info: Info, input: OverrideCustomerTierInput
    ) -> Annotated[CustomerPayload, strawberry.lazy("schema.customer_operations")]:
        from schema.customer import Customer
        from schema.customer_operations import CustomerPayload

        ctx = info.context

        async def work() -> CustomerPayload:
            customer_id = uuid_of(input.customer_id, "Customer", field="customerId")
            async with ctx.db.exclusive() as session:
                row = await override_service.override_tier(
                    session=session,
                    settings=ctx.settings,
                    principal=ctx.principal,
                    customer_id=customer_id,
                    tier_code=TierCode(input.tier).value,
                    reason=input.reason,
                    version=input.version,
                    audit_event=ctx.audit_event,
                )
            return CustomerPayload(customer=Customer.from_row(row), user_errors=[])

        return await run_mutation(
            work, lambda errors: CustomerPayload(customer=None, user_errors=errors)
        )
