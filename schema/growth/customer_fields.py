"""What growth adds to the Customer type: the tier and what evaluation says about the customer
(tier progress, churn risk, RFM, the histories), and the offers made or recommended to them.

``schema.graph`` assembles Customer from these parts and the customers' own; a field here gets
the customer's own part as ``self`` and reads only its ``_row``.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from auth.policy import Access, rule_for
from core.context import Info
from core.errors import BadUserInput, Forbidden
from core.identity import Scope
from core.money import yuan
from models.customers.customer import Customer as CustomerRow
from models.growth.offer import AssignmentStatus
from resolvers.growth import tier_rules
from resolvers.growth.loaders import (
    TIER_LADDER,
    LifecycleHistoryByCustomerLoader,
    MetricsByCustomerIdLoader,
    TierByIdLoader,
    TierHistoryByCustomerLoader,
    TierLadderLoader,
)
from schema.growth.evaluation import ChurnRisk, LifecycleChange, Rfm, TierChangeEntry, TierProgress
from schema.growth.offer import (
    OfferAssignment,
    RecommendedOffer,
    customer_offers,
    recommended_offers,
)
from schema.growth.tier import Tier
from schema.policy_field import sensitive_field
from schema.relay import After, Connection, First
from schema.scope_field import scoped_field

MAX_HISTORY = 50
_HISTORY = f"The most changes to list, newest first: 1 to {MAX_HISTORY}."


@strawberry.type
class CustomerTierFields:
    """Customer's tier and evaluation fields, between ``branch`` and ``cards``."""

    _row: strawberry.Private[CustomerRow]

    @strawberry.field(description="The customer's current tier.")
    async def tier(self, info: Info) -> Tier:
        row = await info.context.loader(TierByIdLoader).load(self._row.tier_id)
        assert row is not None
        return Tier.from_row(row)

    @strawberry.field(description="How far the customer is from the next tier (for the app).")
    async def tier_progress(self, info: Info) -> TierProgress:
        return await tier_progress_of(info, self._row)

    @sensitive_field("Customer", "churnRisk")
    def churn_risk(self) -> ChurnRisk | None:
        return ChurnRisk(_customer_id=self._row.id)

    @strawberry.field(description="RFM figures of the last evaluation; null: never evaluated.")
    async def rfm(self, info: Info) -> Rfm | None:
        return await rfm_of(info, self._row.id)

    @strawberry.field(description=rule_for("Customer", "tierHistory").describe() + " Newest first.")
    async def tier_history(
        self, info: Info, first: Annotated[int, strawberry.argument(description=_HISTORY)] = 10
    ) -> list[TierChangeEntry] | None:
        return await tier_history_of(info, self._row.id, first)

    @strawberry.field(
        description=rule_for("Customer", "lifecycleHistory").describe() + " Newest first."
    )
    async def lifecycle_history(
        self, info: Info, first: Annotated[int, strawberry.argument(description=_HISTORY)] = 10
    ) -> list[LifecycleChange] | None:
        return await lifecycle_history_of(info, self._row.id, first)


@strawberry.type
class CustomerOfferFields:
    """Customer's offers, after ``complaints``."""

    _row: strawberry.Private[CustomerRow]

    @scoped_field(Scope.OFFERS_READ, "Offers made to this customer, newest first.")
    async def offers(
        self,
        info: Info,
        status: Annotated[
            AssignmentStatus | None,
            strawberry.argument(description="Only offers in this status; null: all of them."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[OfferAssignment] | None:
        return await customer_offers(info, self._row.id, status, first, after)

    @scoped_field(Scope.OFFERS_READ, "Live offers this customer is eligible for, best fit first.")
    async def recommended_offers(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(
                description="The most offers to list: 0 to CARDCRM_MAX_PAGE_SIZE (default 100)."
            ),
        ] = 10,
    ) -> list[RecommendedOffer] | None:
        return await recommended_offers(info, self._row.id, first)


async def tier_progress_of(info: Info, customer: CustomerRow) -> TierProgress:
    ladder = await info.context.loader(TierLadderLoader).load(TIER_LADDER)
    metrics = await info.context.loader(MetricsByCustomerIdLoader).load(customer.id)
    spend = metrics.annual_spend_cents if metrics else 0
    count = metrics.annual_transactions if metrics else 0
    progress = tier_rules.tier_progress(
        [rule for _, rule in ladder], customer.tier_id, spend, count
    )
    by_id = {tier.id: tier for tier, _ in ladder}
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
    metrics = await info.context.loader(MetricsByCustomerIdLoader).load(customer_id)
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
    rows = await info.context.loader(LifecycleHistoryByCustomerLoader).load((customer_id, first))
    return [LifecycleChange.from_row(row) for row in rows]


async def tier_history_of(info: Info, customer_id: uuid.UUID, first: int) -> list[TierChangeEntry]:
    _require(info, "tierHistory", first)
    rows = await info.context.loader(TierHistoryByCustomerLoader).load((customer_id, first))
    return [TierChangeEntry.from_row(row) for row in rows]
