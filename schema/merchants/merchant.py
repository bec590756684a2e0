"""What a partner merchant's token can do: list its own offers, redeem codes, read its stats.

Each field is a thin call into ``resolvers.merchants.offers``,
``resolvers.merchants.redemption`` and ``resolvers.merchants.stats``, which refuse anyone but a
merchant principal; the scope each needs is declared on its field (``schema.scope_field``),
refused before the resolver runs. A merchant sees an offer's terms (``OfferTerms``), its quota
and budget and how it does, never whom it targets; a redeemed code shows the customer only as a
per-merchant pseudonym and a masked name. Figures are small-group suppressed (null,
``suppressed: true``).

Money is ``Decimal`` yuan throughout (``core.money``): the offer's terms as in the staff
``Offer``, purchases, benefits and the statistics' sums as in the analytics.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import Context, Info
from core.identity import Scope
from core.money import yuan, yuan_or_none
from models.columns import utcnow
from models.customers.customer import Customer as CustomerRow
from models.growth.offer import BenefitType, OfferStatus
from models.growth.offer import Offer as OfferRow
from models.transactions.transaction import MerchantCategory
from resolvers.growth.offer_workflow import effective_status
from resolvers.merchants import offers as offers_service
from resolvers.merchants import redemption as redemption_service
from resolvers.merchants import stats as stats_service
from resolvers.merchants.loaders import MerchantByIdLoader
from resolvers.merchants.offers import OfferActivityByOfferIdLoader
from resolvers.pagination import PageArgs
from resolvers.suppression import Suppressor
from schema.common import UserError, mutation_payload, payload_field
from schema.growth import offer_text as doc
from schema.growth.offer import OfferTerms, benefit_value
from schema.policy_field import sealed_field
from schema.relay import After, Connection, First, Node, to_global_id, uuid_of
from schema.scope_field import scoped_field

SUPPRESSED = "Null when suppressed: fewer customers than the minimum group size."


@strawberry.type(description="How one offer has done since it began. " + SUPPRESSED)
class MerchantOfferFigures:
    views: int | None = strawberry.field(description="Customers who opened the offer.")
    acceptances: int | None = strawberry.field(description="Customers who accepted it.")
    redemptions: int | None = strawberry.field(description="Codes redeemed.")
    redeemed_amount: Decimal | None = strawberry.field(description="Purchases, in yuan.")
    benefit_cost: Decimal | None = strawberry.field(
        description="Spent from the budget by the redemptions, in yuan."
    )
    suppressed: bool = strawberry.field(description="Whether any figure here is suppressed.")

    @classmethod
    def of(cls, figures: offers_service.OfferFigures) -> MerchantOfferFigures:
        return cls(
            views=figures.views,
            acceptances=figures.acceptances,
            redemptions=figures.redemptions,
            redeemed_amount=yuan_or_none(figures.redeemed_amount_cents),
            benefit_cost=yuan_or_none(figures.benefit_cents),
            suppressed=figures.suppressed,
        )


@strawberry.type(
    description="One of your offers: its terms, quota and budget and how it does; "
    "never whom it targets."
)
class MerchantOffer(Node, OfferTerms):
    id: strawberry.ID = strawberry.field(
        description="This view of the offer's global ID; `node(id:)` takes it."
    )
    offer_id: strawberry.ID = strawberry.field(description="For `merchantStats(offerId:)`.")
    quota: int | None = strawberry.field(
        description="Most customers it goes to, and so most redemptions; null: no limit."
    )
    budget: Decimal | None = strawberry.field(description=doc.BUDGET)
    min_spend: Decimal = strawberry.field(description=doc.MIN_SPEND)
    _row: strawberry.Private[OfferRow]

    async def resolve_merchant_name(self, info: Info) -> str:
        merchant = await info.context.loader(MerchantByIdLoader).load(self._row.merchant_id)
        return merchant.name if merchant else ""

    @scoped_field(Scope.OFFERS_READ, "Views, acceptances, redemptions.")
    async def figures(self, info: Info) -> MerchantOfferFigures | None:
        ctx = info.context
        activity = await ctx.loader(OfferActivityByOfferIdLoader).load(self._row.id)
        suppress = Suppressor(ctx.settings.stats_min_group_size)
        return MerchantOfferFigures.of(offers_service.OfferFigures.of(activity, suppress))

    @classmethod
    def from_row(cls, row: OfferRow) -> MerchantOffer:
        kind = BenefitType(row.benefit_type)
        return cls(
            id=to_global_id("MerchantOffer", row.id),
            offer_id=to_global_id("Offer", row.id),
            title=row.title,
            description=row.description,
            category=MerchantCategory(row.category),
            benefit_type=kind,
            benefit_value=benefit_value(kind, row.benefit_value),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            status=effective_status(row, utcnow()),
            quota=row.quota,
            budget=yuan_or_none(row.budget_cents),
            min_spend=yuan(row.min_spend_cents),
            _row=row,
        )


@strawberry.type(
    description="A redeemed code as its merchant sees it: the customer only as a pseudonym "
    "and a masked name."
)
class Redemption:
    pseudonym: str = strawberry.field(
        description="The customer's stable pseudonym at your business; another merchant sees "
        "another one, and it leads back to no customer id."
    )
    offer: MerchantOffer = strawberry.field(description="The offer the code was for.")
    amount: Decimal = strawberry.field(description="The purchase, in yuan.")
    benefit: Decimal = strawberry.field(
        description="What the redemption cost the offer's budget, in yuan (0 for points)."
    )
    reference: str | None = strawberry.field(description="Your reference, as sent.")
    redeemed_at: datetime = strawberry.field(description="When it was redeemed (ISO 8601 UTC).")
    _customer: strawberry.Private[CustomerRow]

    customer_name = sealed_field(
        "Redemption", "customerName", "name", row=lambda root: root._customer
    )

    @classmethod
    def of(cls, redemption: redemption_service.Redemption) -> Redemption:
        row = redemption.assignment
        assert row.redeemed_at is not None
        return cls(
            pseudonym=redemption.pseudonym,
            offer=MerchantOffer.from_row(redemption.offer),
            amount=yuan(row.redeemed_amount_cents or 0),
            benefit=yuan(row.benefit_cents or 0),
            reference=row.redemption_key,
            redeemed_at=row.redeemed_at,
            _customer=redemption.customer,
        )


@strawberry.input(description="A code shown at the till and the purchase it is redeemed on.")
class RedeemOfferInput:
    code: str = strawberry.field(
        description="As the customer shows it; case, spaces and dashes do not matter."
    )
    amount: Decimal = strawberry.field(description="The purchase in yuan, at most two decimals.")
    reference: str | None = strawberry.field(
        default=None,
        description="Your receipt or transaction number (at most 128 characters). The same "
        "code redeemed again with the same reference and amount returns the first redemption.",
    )


@strawberry.type(description="The result of `redeemOffer`.")
class RedeemOfferPayload:
    redemption: Redemption | None = payload_field(
        "The redemption (the first one, for a replay); null on userErrors."
    )
    user_errors: list[UserError] = payload_field(doc.USER_ERRORS, list)

    @classmethod
    def of(cls, redemption: redemption_service.Redemption) -> RedeemOfferPayload:
        return cls(redemption=Redemption.of(redemption))


@strawberry.type(description="One local day of your offers. " + SUPPRESSED)
class MerchantDayStats:
    day: date = strawberry.field(description="The local day (in `timeZone`), YYYY-MM-DD.")
    views: int | None = strawberry.field(description="Offers first opened that day.")
    acceptances: int | None = strawberry.field(description="Offers accepted that day.")
    redemptions: int | None = strawberry.field(description="Codes redeemed that day.")
    redeemed_amount: Decimal | None = strawberry.field(
        description="Purchases of those redemptions, in yuan."
    )
    benefit_cost: Decimal | None = strawberry.field(
        description="What those redemptions cost the budgets, in yuan."
    )
    suppressed: bool = strawberry.field(description="Whether any figure of the day is suppressed.")

    @classmethod
    def of(cls, stats: stats_service.DayStats) -> MerchantDayStats:
        return cls(
            day=stats.day,
            views=stats.views,
            acceptances=stats.acceptances,
            redemptions=stats.redemptions,
            redeemed_amount=yuan_or_none(stats.redeemed_amount_cents),
            benefit_cost=yuan_or_none(stats.benefit_cents),
            suppressed=stats.suppressed,
        )


@strawberry.type(description="Your offers' figures by local day; no totals, no customers.")
class MerchantStats:
    time_zone: str = strawberry.field(description="The IANA zone the days are counted in.")
    min_group_size: int = strawberry.field(
        description="Figures from fewer distinct customers than this are suppressed."
    )
    days: list[MerchantDayStats] = strawberry.field(description="Every day of the range, in order.")


@strawberry.input(description="Local days from `from` to `to`, both included; at most 366.")
class DayRangeInput:
    first: date = strawberry.field(name="from", description="The first day, YYYY-MM-DD.")
    last: date = strawberry.field(
        name="to", description="The last day, YYYY-MM-DD; not before `from`."
    )


@strawberry.type
class MerchantQuery:
    @scoped_field(Scope.OFFERS_READ, "Your own offers, newest first (partner merchant tokens).")
    async def merchant_offers(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        status: Annotated[
            OfferStatus | None,
            strawberry.argument(
                description="Only offers in this status (past its window: EXPIRED); null: all."
            ),
        ] = None,
    ) -> Connection[MerchantOffer]:
        page, count = await offers_service.list_merchant_offers(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            status=status,
            page=PageArgs(first=first, after=after),
            now=utcnow(),
        )
        return Connection.build(page, MerchantOffer.from_row, count)

    @scoped_field(
        Scope.OFFERS_READ,
        "Views, acceptances and redemptions of your offers by day, small groups "
        "suppressed (partner merchant tokens).",
    )
    async def merchant_stats(
        self,
        info: Info,
        range: Annotated[
            DayRangeInput, strawberry.argument(description="The local days to count.")
        ],
        offer_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only this one of your offers (`MerchantOffer.offerId`); null: all."
            ),
        ] = None,
    ) -> MerchantStats:
        stats = await stats_service.merchant_stats(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            first_day=range.first,
            last_day=range.last,
            offer_id=uuid_of(offer_id, "Offer", field="offerId") if offer_id else None,
        )
        return MerchantStats(
            time_zone=stats.time_zone,
            min_group_size=stats.min_group_size,
            days=[MerchantDayStats.of(day) for day in stats.days],
        )


@strawberry.type
class MerchantMutation:
    @scoped_field(
        Scope.OFFERS_REDEEM,
        "Redeems a customer's one-time code, exactly once; refused when the code "
        "is unknown, used or expired, the offer is not live, the purchase is below its minimum "
        "spend, or its quota or budget is used up (partner merchant tokens). userErrors: "
        "FORBIDDEN, NOT_FOUND (unknown code), CONFLICT, BAD_USER_INPUT.",
    )
    async def redeem_offer(
        self,
        info: Info,
        input: Annotated[
            RedeemOfferInput, strawberry.argument(description="The code and the purchase.")
        ],
    ) -> RedeemOfferPayload:

        async def write(session: AsyncSession, ctx: Context) -> redemption_service.Redemption:
            request = redemption_service.RedemptionRequest(
                code=input.code,
                amount=input.amount,
                reference=input.reference,
            )
            return await redemption_service.redeem_offer(
                session=session, ring=ctx.key_ring, principal=ctx.principal, request=request
            )

        return await mutation_payload(info, RedeemOfferPayload, write, RedeemOfferPayload.of)
