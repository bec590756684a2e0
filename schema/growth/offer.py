"""Offers as marketers see them, and as customers see theirs (terms only, plus their code).

``OfferTerms`` is what anyone shown an offer may read: what it gives, who gives it, when.
Staff get the whole ``Offer`` (quota, budget, eligibility rules, workflow); a customer gets
``OfferSummary`` inside their ``OfferAssignment`` or ``RecommendedOffer``, so marketing's
targeting rules never reach the app. The redemption code is C2 (``auth.policy``): clear to
the assignment's owner, denied to everyone else.

Money is ``Decimal`` yuan as everywhere in the API (``core.money``); the offer keeps cents.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import strawberry

from core.context import Info
from core.money import yuan, yuan_or_none
from models.columns import utcnow
from models.customers.customer import LifecycleStage
from models.growth.offer import AssignmentStatus, BenefitType, OfferStatus
from models.growth.offer import Offer as OfferRow
from models.growth.tier import TierCode
from models.transactions.transaction import MerchantCategory
from resolvers.growth.assignments import (
    AssignmentCountByCustomerLoader,
    AssignmentPageKey,
    AssignmentPagesByCustomerLoader,
    AssignmentView,
)
from resolvers.growth.benefit import VALUE_RANGES
from resolvers.growth.offer_workflow import (
    OFFER_WORKFLOW,
    OfferAction,
    OfferWindow,
    effective_status,
)
from resolvers.growth.recommendation import Recommendation, RecommendedOffersByCustomerLoader
from resolvers.merchants.loaders import MerchantByIdLoader
from resolvers.organisation.loaders import StaffUserByIdLoader
from resolvers.pagination import PageArgs
from schema.growth import offer_text as doc
from schema.organisation.organisation import StaffMember
from schema.policy_field import sealed_field
from schema.relay import Connection, Node, to_global_id


def benefit_value(kind: BenefitType, stored: int) -> Decimal:
    """``benefitValue`` as the API shows it: yuan for money benefits, else the whole number."""
    return yuan(stored) if VALUE_RANGES[kind].in_yuan else Decimal(stored)


@strawberry.interface(description="What an offer gives, who gives it and when.")
class OfferTerms:
    title: str = strawberry.field(description=doc.TITLE)
    description: str = strawberry.field(description=doc.DESCRIPTION)
    category: MerchantCategory = strawberry.field(description=doc.CATEGORY)
    benefit_type: BenefitType = strawberry.field(description=doc.BENEFIT_TYPE)
    benefit_value: Decimal = strawberry.field(description=doc.BENEFIT_VALUE)
    starts_at: datetime = strawberry.field(description=doc.STARTS_AT)
    ends_at: datetime = strawberry.field(description=doc.ENDS_AT)
    status: OfferStatus = strawberry.field(
        description="Past its window an offer is EXPIRED, whatever was stored."
    )

    @strawberry.field(description="The partner merchant's name.")
    async def merchant_name(self, info: Info) -> str:
        return await self.resolve_merchant_name(info)

    async def resolve_merchant_name(self, info: Info) -> str:
        raise NotImplementedError


class OfferTermsRow(OfferWindow, Protocol):
    """What the terms are read from: an ``Offer`` row, or the facts recommendation reads."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def benefit_type(self) -> str: ...
    @property
    def benefit_value(self) -> int: ...


def offer_terms(row: OfferTermsRow) -> dict[str, object]:
    """The ``OfferTerms`` fields' values, as every type showing an offer's terms gives them."""
    kind = BenefitType(row.benefit_type)
    return {
        "title": row.title,
        "description": row.description,
        "category": MerchantCategory(row.category),
        "benefit_type": kind,
        "benefit_value": benefit_value(kind, row.benefit_value),
        "starts_at": row.starts_at,
        "ends_at": row.ends_at,
        "status": effective_status(row, utcnow()),
    }


@strawberry.type(description="A merchant offer, with its targeting rules and workflow (staff).")
class Offer(Node, OfferTerms):
    id: strawberry.ID = strawberry.field(
        description="The offer's global ID; `offer(id:)` and `node(id:)` take it."
    )
    merchant_id: strawberry.ID = strawberry.field(
        description="The partner merchant's global ID (a Merchant ID)."
    )
    quota: int | None = strawberry.field(description=doc.QUOTA)
    budget: Decimal | None = strawberry.field(description=doc.BUDGET)
    min_spend: Decimal = strawberry.field(description=doc.MIN_SPEND)
    eligible_tiers: list[TierCode] = strawberry.field(description=doc.ELIGIBLE_TIERS)
    eligible_stages: list[LifecycleStage] = strawberry.field(description=doc.ELIGIBLE_STAGES)
    eligible_segments: list[str] = strawberry.field(description=doc.ELIGIBLE_SEGMENTS)
    spend_categories: list[MerchantCategory] = strawberry.field(description=doc.SPEND_CATEGORIES)
    created_at: datetime = strawberry.field(description="When it was created (ISO 8601 UTC).")
    updated_at: datetime = strawberry.field(
        description="When its terms or status last changed (ISO 8601 UTC)."
    )
    version: int = strawberry.field(
        description="Goes up by one with every change; give it back to change the offer."
    )
    _row: strawberry.Private[OfferRow]

    async def resolve_merchant_name(self, info: Info) -> str:
        merchant = await info.context.loader(MerchantByIdLoader).load(self._row.merchant_id)
        return merchant.name if merchant else ""

    @strawberry.field(description="The workflow actions allowed in the current status.")
    def allowed_actions(self) -> list[OfferAction]:
        return OFFER_WORKFLOW.allowed_actions(self.status)

    @strawberry.field(description="The marketer who created it.")
    async def created_by(self, info: Info) -> StaffMember | None:
        if self._row.created_by is None:
            return None
        row = await info.context.loader(StaffUserByIdLoader).load(self._row.created_by)
        return StaffMember.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: OfferRow) -> Offer:
        return cls(
            id=to_global_id("Offer", row.id),
            **offer_terms(row),  # type: ignore[arg-type]
            merchant_id=to_global_id("Merchant", row.merchant_id),
            quota=row.quota,
            budget=yuan_or_none(row.budget_cents),
            min_spend=yuan(row.min_spend_cents),
            eligible_tiers=[TierCode(code) for code in row.eligible_tiers],
            eligible_stages=[LifecycleStage(stage) for stage in row.eligible_stages],
            eligible_segments=list(row.eligible_segments),
            spend_categories=[MerchantCategory(c) for c in row.spend_categories],
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
            _row=row,
        )


@strawberry.type(description="An offer as its customer sees it: the terms, not the targeting.")
class OfferSummary(OfferTerms):
    offer_id: strawberry.ID = strawberry.field(
        description="The offer's global ID (an Offer ID), the same for every customer."
    )
    _merchant_name: strawberry.Private[str]

    async def resolve_merchant_name(self, info: Info) -> str:
        return self._merchant_name

    @classmethod
    def of(cls, row: OfferTermsRow, merchant_name: str) -> OfferSummary:
        return cls(
            offer_id=to_global_id("Offer", row.id),
            **offer_terms(row),  # type: ignore[arg-type]
            _merchant_name=merchant_name,
        )


@strawberry.type(description="An offer made to one customer: targeted → viewed → accepted → …")
class OfferAssignment(Node):
    status: AssignmentStatus = strawberry.field(
        description="An assignment not yet redeemed is EXPIRED once its offer is."
    )
    id: strawberry.ID = strawberry.field(
        description="The assignment's global ID; `viewOffer` and `acceptOffer` take it."
    )
    offer: OfferSummary = strawberry.field(description="The offer's terms.")
    targeted_at: datetime = strawberry.field(
        description="When the offer was made to the customer (ISO 8601 UTC)."
    )
    viewed_at: datetime | None = strawberry.field(
        description="When the customer first opened (or accepted) it (ISO 8601 UTC); null before."
    )
    accepted_at: datetime | None = strawberry.field(
        description="When the customer accepted it (ISO 8601 UTC); null before."
    )
    redeemed_at: datetime | None = strawberry.field(
        description="When the merchant redeemed its code (ISO 8601 UTC); null before."
    )
    redeemed_amount: Decimal | None = strawberry.field(
        description="The purchase it was redeemed on, in yuan; null until redeemed."
    )
    _view: strawberry.Private[AssignmentView]
    _owner: strawberry.Private[str]

    # The one-time code to show at the merchant; null until the offer is accepted.
    redemption_code = sealed_field(
        "OfferAssignment", "redemptionCode", "code", row=lambda root: root._view.assignment
    )

    @classmethod
    def of(cls, view: AssignmentView) -> OfferAssignment:
        row = view.assignment
        return cls(
            id=to_global_id("OfferAssignment", row.id),
            status=view.status(utcnow()),
            offer=OfferSummary.of(view.offer, view.merchant_name),
            targeted_at=row.targeted_at,
            viewed_at=row.viewed_at,
            accepted_at=row.accepted_at,
            redeemed_at=row.redeemed_at,
            redeemed_amount=yuan_or_none(row.redeemed_amount_cents),
            _view=view,
            _owner=str(row.customer_id),
        )


@strawberry.type(description="A live offer the customer is eligible for, with how well it fits.")
class RecommendedOffer:
    offer: OfferSummary = strawberry.field(description="The offer's terms.")
    affinity: float = strawberry.field(
        description="Share (0–1) of the customer's window spend in the offer's categories."
    )
    assignment_id: strawberry.ID | None = strawberry.field(
        description="The customer's assignment of this offer, if it was targeted to them."
    )

    @classmethod
    def of(cls, recommendation: Recommendation) -> RecommendedOffer:
        assignment = recommendation.assignment
        return cls(
            offer=OfferSummary.of(recommendation.offer, recommendation.merchant_name),
            affinity=shown_affinity(recommendation.affinity),
            assignment_id=to_global_id("OfferAssignment", assignment.id) if assignment else None,
        )


def shown_affinity(affinity: float) -> float:
    """``RecommendedOffer.affinity``: four decimals are enough to rank by eye."""
    return round(affinity, 4)


async def customer_offers(
    info: Info,
    customer_id: uuid.UUID,
    status: AssignmentStatus | None,
    first: int | None,
    after: str | None,
) -> Connection[OfferAssignment]:
    """``Customer.offers``: the customer is in the caller's scope already; the field declares
    ``offers:read`` on top."""
    ctx = info.context
    args = PageArgs(first=first, after=after).validated(
        ctx.settings.default_page_size, ctx.settings.max_page_size
    )
    page = await ctx.loader(AssignmentPagesByCustomerLoader).load(
        AssignmentPageKey(customer_id, args.first or 0, after, status)
    )

    async def count() -> int:
        return await ctx.loader(AssignmentCountByCustomerLoader).load((customer_id, status))

    return Connection.build(page, OfferAssignment.of, count)


async def recommended_offers(
    info: Info, customer_id: uuid.UUID, first: int
) -> list[RecommendedOffer]:
    """``Customer.recommendedOffers``, batched over a page of customers (the field declares
    ``offers:read``)."""
    ctx = info.context
    size = PageArgs(first=first).validated(
        ctx.settings.default_page_size, ctx.settings.max_page_size
    )
    ranked = await ctx.loader(RecommendedOffersByCustomerLoader).load(customer_id)
    return [RecommendedOffer.of(r) for r in ranked[: size.first or 0]]
