"""The types of what evaluation says about a customer (tier progress, churn risk, RFM, the
histories; ``schema.growth.customer_fields`` puts them on Customer) and the two mutations
around it: ``evaluateCustomers`` (admins) and ``overrideCustomerTier`` (supervisors). Thin:
each field loads through the request's DataLoaders and calls resolvers/.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core import text_limits
from core.context import Context, Info
from core.identity import Scope
from core.money import yuan, yuan_or_none
from models.customers.customer import Customer as CustomerRow
from models.customers.customer import LifecycleHistory as LifecycleHistoryRow
from models.customers.customer import LifecycleStage, RiskGrade
from models.growth.customer_metrics import CustomerMetrics
from models.growth.tier import TierChange, TierCode
from models.growth.tier import TierHistory as TierHistoryRow
from resolvers.growth import evaluation as evaluation_service
from resolvers.growth import tier_override as override_service
from resolvers.growth.loaders import MetricsByCustomerIdLoader, TierByIdLoader
from resolvers.organisation.loaders import StaffUserByIdLoader
from schema.common import UserError, mutation_payload, payload_field
from schema.customers.operations import CustomerPayload
from schema.growth.tier import Tier
from schema.organisation.organisation import StaffMember
from schema.relay import uuid_of
from schema.scope_field import scoped_field


@strawberry.type(
    description="How far the customer is from the next tier, from the last evaluation."
)
class TierProgress:
    current_tier: Tier = strawberry.field(description="The tier the customer holds.")
    next_tier: Tier | None = strawberry.field(
        description="The tier above the current one; null at the top tier."
    )
    annual_spend: Decimal = strawberry.field(
        description="Spend in the 365 days up to the last evaluation, in yuan."
    )
    annual_transactions: int = strawberry.field(
        description="Transactions in the 365 days up to the last evaluation."
    )
    spend_needed: Decimal = strawberry.field(
        description="Yuan still missing for the next tier; 0 once met or at the top tier."
    )
    transactions_needed: int = strawberry.field(
        description="Transactions still missing for the next tier; 0 once met or at the top tier."
    )
    percent: float = strawberry.field(
        description="0–100: the lesser of spend and transaction progress (the next tier "
        "needs both), rounded down."
    )
    evaluated_at: datetime | None = strawberry.field(
        description="The as-of instant of the evaluation behind the figures (ISO 8601, UTC); "
        "null: never evaluated (the figures are 0)."
    )


@strawberry.type(description="Recency, frequency and monetary value over the evaluation window.")
class Rfm:
    recency_days: int | None = strawberry.field(
        description="Whole days from the last transaction to the evaluation; null: none ever."
    )
    frequency: int = strawberry.field(description="Transactions in the window.")
    monetary: Decimal = strawberry.field(description="Spend in the window, in yuan.")
    window_days: int = strawberry.field(
        description="The window's length in days, up to the evaluation "
        "(CARDCRM_EVALUATION_WINDOW_DAYS, default 90)."
    )
    evaluated_at: datetime = strawberry.field(
        description="The as-of instant of the evaluation (ISO 8601, UTC)."
    )

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
        return await info.context.loader(MetricsByCustomerIdLoader).load(self._customer_id)

    @strawberry.field(description="0 (no sign) to 1; null: never evaluated.")
    async def score(self, info: Info) -> float | None:
        metrics = await self._metrics(info)
        return metrics.churn_score if metrics else None

    @strawberry.field(description="One line per warning sign, e.g. 'no transaction in 45 days'.")
    async def reasons(self, info: Info) -> list[str]:
        metrics = await self._metrics(info)
        return list(metrics.churn_reasons) if metrics else []

    @strawberry.field(
        description="The as-of instant of the evaluation that scored it (ISO 8601, UTC); "
        "null: never evaluated."
    )
    async def evaluated_at(self, info: Info) -> datetime | None:
        metrics = await self._metrics(info)
        return metrics.evaluated_at if metrics else None


@strawberry.type(description="A change of lifecycle stage, with the figures that caused it.")
class LifecycleChange:
    from_stage: LifecycleStage | None = strawberry.field(
        description="The stage before; null: none recorded."
    )
    to_stage: LifecycleStage = strawberry.field(description="The stage after.")
    reason: str = strawberry.field(description="Why, in words: the rule that matched.")
    recency_days: int | None = strawberry.field(
        description="Days since the last transaction then; null: none ever."
    )
    frequency: int | None = strawberry.field(description="Transactions in the window then.")
    monetary: Decimal | None = strawberry.field(description="Spend in the window then, in yuan.")
    churn_score: float | None = strawberry.field(description="The churn-risk score then, 0 to 1.")
    created_at: datetime = strawberry.field(
        description="The as-of instant of the evaluation that made the change (ISO 8601, UTC)."
    )

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
    change: TierChange = strawberry.field(description="What made the change.")
    reason: str = strawberry.field(
        description="Why, in words: evaluation's figures or the overrider's written reason."
    )
    created_at: datetime = strawberry.field(
        description="When it took effect: the evaluation's as-of instant or the override's "
        "time (ISO 8601, UTC)."
    )
    _row: strawberry.Private[TierHistoryRow]

    @strawberry.field(description="The tier before; null: none recorded.")
    async def from_tier(self, info: Info) -> Tier | None:
        if self._row.from_tier_id is None:
            return None
        row = await info.context.loader(TierByIdLoader).load(self._row.from_tier_id)
        return Tier.from_row(row) if row else None

    @strawberry.field(description="The tier after.")
    async def to_tier(self, info: Info) -> Tier:
        row = await info.context.loader(TierByIdLoader).load(self._row.to_tier_id)
        assert row is not None
        return Tier.from_row(row)

    @strawberry.field(description="Who overrode the tier; null for evaluation's changes.")
    async def actor(self, info: Info) -> StaffMember | None:
        if self._row.actor_id is None:
            return None
        row = await info.context.loader(StaffUserByIdLoader).load(self._row.actor_id)
        return StaffMember.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: TierHistoryRow) -> TierChangeEntry:
        return cls(
            change=TierChange(row.change), reason=row.reason, created_at=row.created_at, _row=row
        )


# -- the mutations -------------------------------------------------------------------------


@strawberry.type(description="How many customers one evaluation moved into a stage.")
class StageCount:
    stage: LifecycleStage = strawberry.field(description="The stage moved into.")
    count: int = strawberry.field(description="How many customers moved into it.")


@strawberry.type(description="How many customers one evaluation moved to a risk grade.")
class GradeCount:
    grade: RiskGrade = strawberry.field(description="The risk grade moved to.")
    count: int = strawberry.field(description="How many customers moved to it.")


@strawberry.type(description="What one evaluation run did.")
class EvaluationSummary:
    as_of: datetime = strawberry.field(
        description="The instant the customers were evaluated as of (ISO 8601, UTC)."
    )
    evaluated: int = strawberry.field(description="Customers evaluated.")
    stage_changes: list[StageCount] = strawberry.field(
        description="Customers moved into each stage (only stages someone moved into)."
    )
    upgrades: int = strawberry.field(description="Customers moved to a higher tier.")
    downgrades: int = strawberry.field(description="Customers moved to a lower tier.")
    segment_changes: int = strawberry.field(description="Customers whose segments changed.")
    overrides_kept: int = strawberry.field(description="Tiers left alone by an override.")
    skipped: int = strawberry.field(
        description="Customers changed by someone else meanwhile; the next run catches up."
    )
    risk_grade_changes: list[GradeCount] = strawberry.field(
        description="Customers moved to each risk grade (only grades someone moved to)."
    )
    risk_grade_alerts: int = strawberry.field(
        description="GRADE_WORSENED alerts raised: risk grades that worsened to D or E."
    )
    risk_grade_overrides_kept: int = strawberry.field(
        description="Risk grades left alone by a risk officer's override."
    )
    seconds: float = strawberry.field(description="How long the run took, in seconds.")

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
            risk_grade_changes=[
                GradeCount(grade=grade, count=summary.grade_changes[grade.value])
                for grade in RiskGrade
                if summary.grade_changes[grade.value]
            ],
            risk_grade_alerts=summary.grade_alerts,
            risk_grade_overrides_kept=summary.grade_overrides_kept,
            seconds=summary.seconds,
        )


@strawberry.input(description="How to run an evaluation.")
class EvaluateCustomersInput:
    as_of: datetime | None = strawberry.field(
        default=None,
        description="Evaluate as of this instant (ISO 8601 with an offset), at most 5 minutes "
        "ahead of the server's clock; null: now.",
    )


@strawberry.type(description="What evaluateCustomers did, or userErrors.")
class EvaluateCustomersPayload:
    summary: EvaluationSummary | None = payload_field(
        "What the run did; null when there are userErrors."
    )
    user_errors: list[UserError] = payload_field(
        "Why nothing was evaluated; empty on success.", list
    )

    @classmethod
    def of(cls, summary: evaluation_service.EvaluationSummary) -> EvaluateCustomersPayload:
        return cls(summary=EvaluationSummary.of(summary))


@strawberry.input(description="The tier to set by hand on one customer, and why.")
class OverrideCustomerTierInput:
    customer_id: strawberry.ID = strawberry.field(
        description="The customer, in your scope (a Customer ID)."
    )
    tier: TierCode = strawberry.field(description="The tier to set.")
    reason: str = strawberry.field(
        description="Why, in words, checked like a reveal's purpose (no personal data, at most "
        f"{text_limits.PURPOSE} characters); kept in the tier history and the audit log."
    )
    version: int = strawberry.field(
        description="The customer's `version` you read; any other is a CONFLICT."
    )


@strawberry.type
class EvaluationMutation:
    @scoped_field(
        Scope.ADMIN,
        "Evaluates every customer: RFM, churn risk, stage, segments and tier (role admin); "
        "audited. userErrors: FORBIDDEN, BAD_USER_INPUT (`asOf`).",
    )
    async def evaluate_customers(
        self,
        info: Info,
        input: Annotated[
            EvaluateCustomersInput | None,
            strawberry.argument(description="Options; null: evaluate as of now."),
        ] = None,
    ) -> EvaluateCustomersPayload:

        async def write(
            session: AsyncSession, ctx: Context
        ) -> evaluation_service.EvaluationSummary:
            return await evaluation_service.evaluate_as_admin(
                database=ctx.state.database,
                session=session,
                settings=ctx.settings,
                principal=ctx.principal,
                as_of=input.as_of if input else None,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(
            info, EvaluateCustomersPayload, write, EvaluateCustomersPayload.of
        )

    @scoped_field(
        Scope.CUSTOMERS_WRITE,
        "Sets a customer's tier with a written reason (supervisors, admins; audited); "
        "evaluation then leaves the tier alone for CARDCRM_TIER_OVERRIDE_DAYS (default 365). "
        "userErrors: FORBIDDEN, BAD_USER_INPUT, NOT_FOUND, CONFLICT (stale `version`).",
    )
    async def override_customer_tier(
        self,
        info: Info,
        input: Annotated[
            OverrideCustomerTierInput, strawberry.argument(description="The override.")
        ],
    ) -> CustomerPayload:
        async def write(session: AsyncSession, ctx: Context) -> CustomerRow:
            return await override_service.override_tier(
                session=session,
                settings=ctx.settings,
                principal=ctx.principal,
                customer_id=uuid_of(input.customer_id, "Customer", field="customerId"),
                tier_code=TierCode(input.tier).value,
                reason=input.reason,
                version=input.version,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, CustomerPayload, write, CustomerPayload.of)
