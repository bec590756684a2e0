"""Offer queries and mutations (each a thin call into resolvers/offer*.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.errors import BadUserInput
from core.identity import Scope
from core.money import cents_of
from models.customers.customer import LifecycleStage
from models.growth.offer import BenefitType, OfferStatus
from models.growth.offer import Offer as OfferRow
from models.growth.tier import TierCode
from models.transactions.transaction import MerchantCategory
from resolvers.customers.saved_segments import audience_by_name
from resolvers.growth import offers as service
from resolvers.growth.assignments import AssignmentView, change_assignment
from resolvers.growth.offer_input import OfferTerms, benefit_units
from resolvers.growth.offer_workflow import AssignmentAction, OfferAction
from resolvers.growth.targeting import TargetingResult, target_offer
from resolvers.pagination import PageArgs
from schema.common import UserError, mutation_payload, payload_field
from schema.described import described_argument
from schema.growth import offer_text as doc
from schema.growth.offer import Offer, OfferAssignment
from schema.relay import After, Before, Connection, First, Last, uuid_of
from schema.scope_field import scoped_field


@strawberry.input(description="Narrows `offers`: an offer must match every field given.")
class OfferFilter:
    status: OfferStatus | None = strawberry.field(
        default=None, description="Only offers in this status (past its window: EXPIRED)."
    )
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this partner merchant's offers (a Merchant global ID)."
    )
    category: MerchantCategory | None = strawberry.field(
        default=None, description="Only offers in this merchant category."
    )

    def to_filter(self) -> service.OfferFilter:
        return service.OfferFilter(
            status=self.status,
            merchant_id=uuid_of(self.merchant_id, "Merchant", field="filter.merchantId")
            if self.merchant_id
            else None,
            category=self.category.value if self.category else None,
        )


def _list(description: str) -> Any:
    """A list input field; left out: empty."""
    return strawberry.field(default_factory=list, description=description)


@strawberry.input(description="A new offer; it starts as a DRAFT. Money is in yuan.")
class CreateOfferInput:
    merchant_id: strawberry.ID = strawberry.field(description=doc.MERCHANT_ID)
    title: str = strawberry.field(description=doc.INPUT_TITLE)
    benefit_type: BenefitType = strawberry.field(description=doc.BENEFIT_TYPE)
    benefit_value: Decimal = strawberry.field(description=doc.BENEFIT_VALUE)
    starts_at: datetime = strawberry.field(description=doc.INPUT_STARTS_AT)
    ends_at: datetime = strawberry.field(description=doc.INPUT_ENDS_AT)
    description: str = strawberry.field(default="", description=doc.INPUT_DESCRIPTION)
    category: MerchantCategory = strawberry.field(
        default=MerchantCategory.OTHER, description=doc.INPUT_CATEGORY
    )
    quota: int | None = strawberry.field(default=None, description=doc.INPUT_QUOTA)
    budget: Decimal | None = strawberry.field(default=None, description=doc.BUDGET)
    min_spend: Decimal = strawberry.field(default=Decimal("0.00"), description=doc.MIN_SPEND)
    eligible_tiers: list[TierCode] = _list(doc.ELIGIBLE_TIERS)
    eligible_stages: list[LifecycleStage] = _list(doc.ELIGIBLE_STAGES)
    eligible_segments: list[str] = _list(doc.INPUT_SEGMENTS)
    spend_categories: list[MerchantCategory] = _list(doc.INPUT_SPEND_CATEGORIES)

    def to_terms(self) -> OfferTerms:
        return OfferTerms(
            merchant_id=uuid_of(self.merchant_id, "Merchant", field="merchantId"),
            title=self.title,
            description=self.description,
            category=self.category.value,
            benefit_type=self.benefit_type.value,
            benefit_value=benefit_units(self.benefit_type, self.benefit_value),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            quota=self.quota,
            budget_cents=_cents("budget", self.budget),
            min_spend_cents=cents_of("minSpend", self.min_spend),
            eligible_tiers=tuple(t.value for t in self.eligible_tiers),
            eligible_stages=tuple(s.value for s in self.eligible_stages),
            eligible_segments=tuple(self.eligible_segments),
            spend_categories=tuple(c.value for c in self.spend_categories),
        )


def _changed(description: str) -> Any:
    """An update field: left out (UNSET) keeps the offer's value."""
    return strawberry.field(default=strawberry.UNSET, description=description + doc.UNCHANGED)


@strawberry.input(description=doc.UPDATE_INPUT)
class UpdateOfferInput:
    id: strawberry.ID = strawberry.field(description="The offer to change (an Offer global ID).")
    version: int = strawberry.field(description=doc.VERSION)
    merchant_id: strawberry.ID | None = _changed(doc.MERCHANT_ID)
    title: str | None = _changed(doc.INPUT_TITLE)
    description: str | None = _changed(doc.INPUT_DESCRIPTION)
    category: MerchantCategory | None = _changed(doc.INPUT_CATEGORY)
    benefit_type: BenefitType | None = _changed(doc.BENEFIT_TYPE)
    benefit_value: Decimal | None = _changed(doc.BENEFIT_VALUE)
    starts_at: datetime | None = _changed(doc.INPUT_STARTS_AT)
    ends_at: datetime | None = _changed(doc.INPUT_ENDS_AT)
    quota: int | None = _changed(doc.INPUT_QUOTA)
    budget: Decimal | None = _changed(doc.BUDGET)
    min_spend: Decimal | None = _changed(doc.MIN_SPEND)
    eligible_tiers: list[TierCode] | None = _changed(doc.ELIGIBLE_TIERS)
    eligible_stages: list[LifecycleStage] | None = _changed(doc.ELIGIBLE_STAGES)
    eligible_segments: list[str] | None = _changed(doc.INPUT_SEGMENTS)
    spend_categories: list[MerchantCategory] | None = _changed(doc.INPUT_SPEND_CATEGORIES)

    def to_changes(self) -> service.OfferChanges:
        values: dict[str, Any] = {}
        for name in _UPDATABLE:
            value = getattr(self, name)
            if value is not strawberry.UNSET:
                values[name] = _plain(value)
        if values.get("merchant_id") is not None:
            values["merchant_id"] = uuid_of(values["merchant_id"], "Merchant", field="merchantId")
        if self.budget is not strawberry.UNSET:
            values["budget_cents"] = _cents("budget", self.budget)
        if self.min_spend is not strawberry.UNSET:
            values["min_spend_cents"] = _cents("minSpend", self.min_spend)
        if self.benefit_value is not strawberry.UNSET and self.benefit_value is not None:
            values["benefit_value"] = self._benefit_units(self.benefit_value)
        return service.OfferChanges(uuid_of(self.id, "Offer"), self.version, values)

    def _benefit_units(self, value: Decimal) -> int:
        if self.benefit_type is strawberry.UNSET or self.benefit_type is None:
            raise BadUserInput(
                "give benefitType with benefitValue: the value is a percent, yuan or a "
                "multiplier depending on the type",
                field="benefitType",
            )
        return benefit_units(self.benefit_type, value)


# Given as is; the money fields and benefitValue are converted in `to_changes`.
_UPDATABLE = (
    "merchant_id",
    "title",
    "description",
    "category",
    "benefit_type",
    "starts_at",
    "ends_at",
    "quota",
    "eligible_tiers",
    "eligible_stages",
    "eligible_segments",
    "spend_categories",
)


def _cents(field: str, amount: Decimal | None) -> int | None:
    """Yuan as the cents the offer keeps; null stays null (no limit, or unchanged)."""
    return None if amount is None else cents_of(field, amount)


def _plain(value: Any) -> Any:
    """GraphQL enums and lists as the plain codes and tuples the resolvers take."""
    if isinstance(value, list):
        return tuple(_plain(item) for item in value)
    return getattr(value, "value", value)


@strawberry.input(description="A workflow action on an offer at a known version.")
class OfferActionInput:
    id: strawberry.ID = strawberry.field(description="The offer (an Offer global ID).")
    version: int = strawberry.field(description=doc.VERSION)


@strawberry.input(description="The offer to assign to its eligible customers.")
class TargetOfferInput:
    offer_id: strawberry.ID = strawberry.field(
        description="The offer (an Offer global ID); it must be ACTIVE and inside its window."
    )
    segment: str | None = strawberry.field(
        default=None,
        description="A saved segment's name: the audience is then that segment's customers "
        "(as you may see them: a condition on a field you may not see is FORBIDDEN) who also "
        "meet the offer's eligibility and consented to marketing; NOT_FOUND for an unknown "
        "name. Null: every eligible, consenting customer.",
    )


@strawberry.input(description="One of the calling customer's offer assignments.")
class OfferAssignmentInput:
    assignment_id: strawberry.ID = strawberry.field(
        description="The assignment's global ID (an OfferAssignment ID)."
    )


@strawberry.type(description="The result of an offer mutation.")
class OfferPayload:
    offer: Offer | None = payload_field("The offer now; null on userErrors.")
    user_errors: list[UserError] = payload_field(doc.USER_ERRORS, list)

    @classmethod
    def of(cls, row: OfferRow) -> OfferPayload:
        return cls(offer=Offer.from_row(row))


@strawberry.type(description="The result of `targetOffer`.")
class TargetOfferPayload:
    offer: Offer | None = payload_field("The offer; null on userErrors.")
    targeted: int = payload_field("Customers who received the offer now.", int)
    skipped_over_quota: int = payload_field(
        "Eligible, consenting customers left out because the quota is full.", int
    )
    user_errors: list[UserError] = payload_field(doc.USER_ERRORS, list)

    @classmethod
    def of(cls, result: TargetingResult) -> TargetOfferPayload:
        return cls(
            offer=Offer.from_row(result.offer),
            targeted=result.targeted,
            skipped_over_quota=result.skipped_over_quota,
        )


@strawberry.type(description="The result of `viewOffer` or `acceptOffer`.")
class OfferAssignmentPayload:
    assignment: OfferAssignment | None = payload_field("The assignment now; null on userErrors.")
    user_errors: list[UserError] = payload_field(doc.USER_ERRORS, list)

    @classmethod
    def of(cls, view: AssignmentView) -> OfferAssignmentPayload:
        return cls(assignment=OfferAssignment.of(view))


async def _status_change(info: Info, input: OfferActionInput, action: OfferAction) -> OfferPayload:
    async def write(session: AsyncSession, ctx: Context) -> OfferRow:
        return await service.change_offer_status(
            session=session,
            principal=ctx.principal,
            offer_id=uuid_of(input.id, "Offer"),
            version=input.version,
            action=action,
            audit_event=events_by(ctx),
        )

    return await mutation_payload(info, OfferPayload, write, OfferPayload.of)


async def _assignment_step(
    info: Info, input: OfferAssignmentInput, action: AssignmentAction
) -> OfferAssignmentPayload:
    async def write(session: AsyncSession, ctx: Context) -> AssignmentView:
        assignment_id: uuid.UUID = uuid_of(
            input.assignment_id, "OfferAssignment", field="assignmentId"
        )
        return await change_assignment(
            session=session,
            ring=ctx.key_ring,
            principal=ctx.principal,
            assignment_id=assignment_id,
            action=action,
        )

    return await mutation_payload(info, OfferAssignmentPayload, write, OfferAssignmentPayload.of)


@strawberry.type
class OfferQuery:
    @scoped_field(Scope.OFFERS_READ, "Offers, newest first.", staff_only=True)
    async def offers(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[
            OfferFilter | None, strawberry.argument(description="Null: all offers.")
        ] = None,
    ) -> Connection[Offer] | None:
        page, count = await service.list_offers(
            db=info.context.db,
            settings=info.context.settings,
            filter=filter.to_filter() if filter else service.OfferFilter(),
            page=PageArgs(first, after, last, before),
        )
        return Connection.build(page, Offer.from_row, count)

    @scoped_field(Scope.OFFERS_READ, "One offer.", staff_only=True)
    async def offer(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="An Offer global ID.")],
    ) -> Offer | None:
        row = await service.get_offer(db=info.context.db, offer_id=uuid_of(id, "Offer"))
        return Offer.from_row(row)


OfferActionArg = Annotated[
    OfferActionInput, described_argument("The offer and its current version.")
]
AssignmentArg = Annotated[
    OfferAssignmentInput, described_argument("The calling customer's assignment.")
]


@strawberry.type
class OfferMutation:
    @scoped_field(Scope.OFFERS_WRITE, doc.CREATE_OFFER)
    async def create_offer(
        self,
        info: Info,
        input: Annotated[CreateOfferInput, described_argument("The new offer's terms.")],
    ) -> OfferPayload:
        async def write(session: AsyncSession, ctx: Context) -> OfferRow:
            return await service.create_offer(
                session=session,
                principal=ctx.principal,
                terms=input.to_terms(),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, OfferPayload, write, OfferPayload.of)

    @scoped_field(Scope.OFFERS_WRITE, doc.UPDATE_OFFER)
    async def update_offer(
        self,
        info: Info,
        input: Annotated[UpdateOfferInput, described_argument("The offer and its changes.")],
    ) -> OfferPayload:
        async def write(session: AsyncSession, ctx: Context) -> OfferRow:
            return await service.update_offer(
                session=session,
                principal=ctx.principal,
                changes=input.to_changes(),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, OfferPayload, write, OfferPayload.of)

    @scoped_field(Scope.OFFERS_WRITE, doc.ACTIVATE_OFFER)
    async def activate_offer(self, info: Info, input: OfferActionArg) -> OfferPayload:
        return await _status_change(info, input, OfferAction.ACTIVATE)

    @scoped_field(Scope.OFFERS_WRITE, doc.PAUSE_OFFER)
    async def pause_offer(self, info: Info, input: OfferActionArg) -> OfferPayload:
        return await _status_change(info, input, OfferAction.PAUSE)

    @scoped_field(Scope.OFFERS_WRITE, doc.EXPIRE_OFFER)
    async def expire_offer(self, info: Info, input: OfferActionArg) -> OfferPayload:
        return await _status_change(info, input, OfferAction.EXPIRE)

    @scoped_field(Scope.OFFERS_WRITE, doc.TARGET_OFFER)
    async def target_offer(
        self,
        info: Info,
        input: Annotated[TargetOfferInput, described_argument("The offer to target.")],
    ) -> TargetOfferPayload:

        async def write(session: AsyncSession, ctx: Context) -> TargetingResult:
            offer_id = uuid_of(input.offer_id, "Offer", field="offerId")
            audience = []
            if input.segment is not None:
                audience = await audience_by_name(session, ctx.principal, input.segment)
            return await target_offer(
                session=session,
                principal=ctx.principal,
                offer_id=offer_id,
                audit_event=events_by(ctx),
                audience=audience,
                segment=input.segment,
            )

        return await mutation_payload(info, TargetOfferPayload, write, TargetOfferPayload.of)

    @scoped_field(Scope.OFFERS_READ, doc.VIEW_OFFER)
    async def view_offer(self, info: Info, input: AssignmentArg) -> OfferAssignmentPayload:
        return await _assignment_step(info, input, AssignmentAction.VIEW)

    @scoped_field(Scope.OFFERS_READ, doc.ACCEPT_OFFER)
    async def accept_offer(self, info: Info, input: AssignmentArg) -> OfferAssignmentPayload:
        return await _assignment_step(info, input, AssignmentAction.ACCEPT)
