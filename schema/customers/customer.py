"""The Customer type, its queries and its mutations (thin: each field calls resolvers/)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import PiiField, revealable_fields, rule_for
from core.context import Info
from core.identity import Scope
from models.customers.customer import Customer as CustomerRow
from models.customers.customer import Gender, LifecycleStage, RiskGrade
from models.growth.offer import AssignmentStatus
from models.growth.tier import TierCode
from models.sealing import read_field
from resolvers.cards.loaders import CardsByCustomerIdLoader
from resolvers.customers.input import TAGS_RULE
from resolvers.customers.input import Consent as ConsentData
from resolvers.growth.loaders import TierByIdLoader
from resolvers.organisation.loaders import BranchByIdLoader
from resolvers.pagination import PageArgs
from resolvers.service_desk.interactions import InteractionFilter as InteractionFilterData
from resolvers.service_desk.loaders import (
    InteractionCountByCustomerLoader,
    InteractionPageKey,
    InteractionPagesByCustomerLoader,
)
from schema.cards.card import Card
from schema.customers import texts
from schema.growth.evaluation import (
    MAX_HISTORY,
    ChurnRisk,
    LifecycleChange,
    Rfm,
    TierChangeEntry,
    TierProgress,
    lifecycle_history_of,
    rfm_of,
    tier_history_of,
    tier_progress_of,
)
from schema.growth.offer import (
    OfferAssignment,
    RecommendedOffer,
    customer_offers,
    recommended_offers,
)
from schema.growth.tier import Tier
from schema.organisation.organisation import Branch
from schema.policy_field import sensitive_field
from schema.relay import After, Connection, First, Node, to_global_id
from schema.scope_field import scoped_field
from schema.service_desk.interaction import Interaction, InteractionFilter

if TYPE_CHECKING:
    from schema.service_desk.complaint import Complaint
    from schema.service_desk.complaint_operations import ComplaintFilter


@strawberry.type(description="Marketing consent per channel and the do-not-disturb window.")
class Consent:
    sms: bool = strawberry.field(description=texts.SMS)
    email: bool = strawberry.field(description=texts.EMAIL_CONSENT)
    push: bool = strawberry.field(description=texts.PUSH)
    phone: bool = strawberry.field(description=texts.PHONE_CONSENT)
    do_not_disturb_start: str | None = strawberry.field(
        description=texts.DND_START + " Null: none."
    )
    do_not_disturb_end: str | None = strawberry.field(description=texts.DND_END + " Null: none.")
    preferred_channel: str | None = strawberry.field(description=texts.PREFERRED + " Null: none.")


_HISTORY = f"The most changes to list, newest first: 1 to {MAX_HISTORY}."


@strawberry.type(description="A cardholder. C2 fields are sealed at rest and masked per role.")
class Customer(Node):
    gender: Gender = strawberry.field(description="The gender given when the customer was created.")
    lifecycle_stage: LifecycleStage = strawberry.field(
        description="The lifecycle stage the last evaluation set (NEW until the first one)."
    )
    consent: Consent = strawberry.field(description="What marketing the customer agreed to.")
    tags: list[str] = strawberry.field(description=TAGS_RULE)
    segments: list[str] = strawberry.field(description=texts.SEGMENTS)
    version: int = strawberry.field(description=texts.VERSION_FIELD)
    created_at: datetime = strawberry.field(
        description="When the customer was created (ISO 8601, UTC)."
    )
    updated_at: datetime = strawberry.field(
        description="When the record last changed, by staff or evaluation (ISO 8601, UTC)."
    )
    _row: strawberry.Private[CustomerRow]

    def _open(self, info: Info, field: str) -> str | None:
        return read_field(info.context.key_ring, self._row, field)

    @sensitive_field("Customer", "name")
    def name(self, info: Info) -> str | None:
        return self._open(info, "name")

    @sensitive_field("Customer", "birthDate")
    def birth_date(self, info: Info) -> str | None:
        return self._open(info, "birth_date")

    @sensitive_field("Customer", "idNumber")
    def id_number(self, info: Info) -> str | None:
        return self._open(info, "id_number")

    @sensitive_field("Customer", "phone")
    def phone(self, info: Info) -> str | None:
        return self._open(info, "phone")

    @sensitive_field("Customer", "email")
    def email(self, info: Info) -> str | None:
        return self._open(info, "email")

    @sensitive_field("Customer", "address")
    def address(self, info: Info) -> str | None:
        return self._open(info, "address")

    @sensitive_field("Customer", "riskGrade")
    def risk_grade(self) -> RiskGrade | None:
        return RiskGrade(self._row.risk_grade)

    @sensitive_field("Customer", "creditScore")
    def credit_score(self) -> int | None:
        return self._row.credit_score

    @strawberry.field(description="The customer's branch.")
    async def branch(self, info: Info) -> Branch:
        row = await info.context.loader(BranchByIdLoader).load(self._row.branch_id)
        assert row is not None
        return Branch.from_row(row)

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

    @strawberry.field(description="The customer's cards, oldest first.")
    async def cards(self, info: Info) -> list[Card]:
        rows = await info.context.loader(CardsByCustomerIdLoader).load(self._row.id)
        return [Card.from_row(row) for row in rows]

    @scoped_field(Scope.INTERACTIONS_READ, "This customer's interactions, newest first.")
    async def interactions(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            InteractionFilter | None,
            strawberry.argument(description="Narrows the list; its `customerId` is ignored."),
        ] = None,
    ) -> Connection[Interaction] | None:
        ctx = info.context
        args = PageArgs(first=first, after=after).validated(
            ctx.settings.default_page_size, ctx.settings.max_page_size
        )
        wanted = (
            replace(filter.to_filter(), customer_id=None) if filter else InteractionFilterData()
        )
        page = await ctx.loader(InteractionPagesByCustomerLoader).load(
            InteractionPageKey(self._row.id, args.first or 0, after, wanted)
        )

        async def count() -> int:
            return await ctx.loader(InteractionCountByCustomerLoader).load((self._row.id, wanted))

        return Connection.build(page, Interaction.from_row, count)

    @scoped_field(
        Scope.COMPLAINTS_READ,
        "This customer's complaints that you may see (as `complaints` shows them), newest first.",
    )
    async def complaints(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            Annotated[ComplaintFilter, strawberry.lazy("schema.service_desk.complaint_operations")]
            | None,
            strawberry.argument(description="Narrows the list; its `customerId` is ignored."),
        ] = None,
    ) -> Connection[Annotated[Complaint, strawberry.lazy("schema.service_desk.complaint")]] | None:
        from schema.service_desk.complaint_operations import customer_complaints

        return await customer_complaints(info, self._row.id, first, after, filter)

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

    @strawberry.field(description="The PII fields the caller may reveal on this customer.")
    def revealable_fields(self, info: Info) -> list[PiiField]:
        return revealable_fields(info.context.principal)

    @classmethod
    def from_row(cls, row: CustomerRow) -> Customer:
        return cls(
            id=to_global_id("Customer", row.id),
            gender=Gender(row.gender),
            lifecycle_stage=LifecycleStage(row.lifecycle_stage),
            consent=Consent(
                sms=row.consent_sms,
                email=row.consent_email,
                push=row.consent_push,
                phone=row.consent_phone,
                do_not_disturb_start=row.do_not_disturb_start,
                do_not_disturb_end=row.do_not_disturb_end,
                preferred_channel=row.preferred_channel,
            ),
            tags=list(row.tags),
            segments=list(row.segments),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            _row=row,
        )


@strawberry.input(description="Narrows `customers`; every given condition must hold.")
class CustomerFilter:
    branch_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this branch's customers (a Branch ID)."
    )
    tier: TierCode | None = strawberry.field(
        default=None, description="Only customers holding this tier."
    )
    lifecycle_stage: LifecycleStage | None = strawberry.field(
        default=None, description="Only customers in this lifecycle stage."
    )
    risk_grade: RiskGrade | None = strawberry.field(
        default=None,
        description="Only this risk grade; FORBIDDEN for a caller who may not see `riskGrade`.",
    )
    created_from: datetime | None = strawberry.field(
        default=None,
        description="Only customers created at or after this instant (ISO 8601 with an offset).",
    )
    created_to: datetime | None = strawberry.field(
        default=None,
        description="Only customers created before this instant (ISO 8601 with an offset).",
    )


@strawberry.input(
    description="Consent per channel and the do-not-disturb window; a channel left out is false."
)
class ConsentInput:
    sms: bool = strawberry.field(default=False, description=texts.SMS)
    email: bool = strawberry.field(default=False, description=texts.EMAIL_CONSENT)
    push: bool = strawberry.field(default=False, description=texts.PUSH)
    phone: bool = strawberry.field(default=False, description=texts.PHONE_CONSENT)
    do_not_disturb_start: str | None = strawberry.field(
        default=None, description=texts.DND_START + " Null: no window."
    )
    do_not_disturb_end: str | None = strawberry.field(
        default=None, description=texts.DND_END + " Null: no window."
    )
    preferred_channel: str | None = strawberry.field(
        default=None, description=texts.PREFERRED + " Null: none."
    )

    def to_data(self) -> ConsentData:
        return ConsentData(
            sms=self.sms,
            email=self.email,
            push=self.push,
            phone=self.phone,
            do_not_disturb_start=self.do_not_disturb_start,
            do_not_disturb_end=self.do_not_disturb_end,
            preferred_channel=self.preferred_channel,
        )
