"""Branch, tier catalogue and merchant mutations (admins; audited, versioned): thin calls into
``resolvers.admin``."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Scope
from core.money import cents_of
from models.columns import utcnow
from models.growth.tier import Tier as TierRow
from models.growth.tier import TierCode
from models.growth.tier import TierTerms as TierTermsRow
from models.merchants.merchant import Merchant as MerchantRow
from models.organisation.organisation import Branch as BranchRow
from models.transactions.transaction import MerchantCategory
from resolvers.admin import branches, merchants, tiers
from resolvers.growth.tier_terms import bank_day
from schema.admin.types import (
    BranchPayload,
    BranchRecord,
    MerchantAccount,
    MerchantAccountPayload,
    TierDefinition,
    TierDefinitionPayload,
)
from schema.common import mutation_payload
from schema.described import described_argument
from schema.relay import uuid_of
from schema.scope_field import scoped_field

ERRORS = " userErrors: NOT_FOUND, CONFLICT (stale `version`, a taken code), BAD_USER_INPUT."
SPEND = "The spend over the last 365 days it needs, in yuan (0 or more)."
COUNT = "The purchases over the last 365 days it needs (0 or more)."
FROM = "The first day (bank time) qualification uses them: today or later; default today."


@strawberry.input(description="A new branch.")
class CreateBranchInput:
    code: str = strawberry.field(
        description="Its code, as the bank's identity provider names it: 1 to 32 letters, "
        "digits or dashes, stored in capitals; unique and fixed."
    )
    name: str = strawberry.field(description="Its display name (1 to 100 characters).")


@strawberry.input(description="A new display name for a branch.")
class RenameBranchInput:
    branch_id: strawberry.ID = strawberry.field(description="The branch (a Branch ID).")
    version: int = strawberry.field(description="The `version` you read; else CONFLICT.")
    name: str = strawberry.field(description="Its new display name (1 to 100 characters).")


@strawberry.input(description="A new tier of the catalogue, with its first terms.")
class CreateTierInput:
    code: TierCode = strawberry.field(description="The tier's code; unique.")
    name: str = strawberry.field(description="Its display name (1 to 64 characters).")
    rank: int = strawberry.field(description="Its place on the ladder (0 to 1000); unique.")
    min_annual_spend: Decimal = strawberry.field(description=SPEND)
    min_transactions: int = strawberry.field(description=COUNT)
    benefits: list[str] = strawberry.field(
        default_factory=list, description="Its benefits, one line each (at most 20)."
    )
    service_level_hours: int = strawberry.field(
        default=72, description="Its complaint service level in hours (1 to 720)."
    )
    points_multiplier_percent: int = strawberry.field(
        default=100, description="Points per purchase in percent of the base (0 to 1000)."
    )
    effective_from: datetime.date | None = strawberry.field(default=None, description=FROM)


@strawberry.input(description="New qualifying terms for a tier, from a day on.")
class ReviseTierInput:
    tier_id: strawberry.ID = strawberry.field(description="The tier (a Tier ID).")
    version: int = strawberry.field(description="The `version` you read; else CONFLICT.")
    min_annual_spend: Decimal = strawberry.field(description=SPEND)
    min_transactions: int = strawberry.field(description=COUNT)
    effective_from: datetime.date | None = strawberry.field(
        default=None, description=FROM + " After the tier's latest terms."
    )


@strawberry.input(description="A new partner merchant.")
class CreateMerchantInput:
    name: str = strawberry.field(description="The partner's name (1 to 200 characters).")
    category: MerchantCategory = strawberry.field(
        default=MerchantCategory.OTHER, description="Its merchant category."
    )


@strawberry.input(description="Names a merchant at the version you read.")
class MerchantInput:
    merchant_id: strawberry.ID = strawberry.field(description="The merchant's ID.")
    version: int = strawberry.field(description="The `version` you read; else CONFLICT.")


def _today(ctx: Context) -> datetime.date:
    return bank_day(utcnow(), ctx.settings.contact_timezone)


def _terms(
    ctx: Context, spend: Decimal, count: int, effective_from: datetime.date | None
) -> tiers.Terms:
    return tiers.Terms(effective_from or _today(ctx), cents_of("minAnnualSpend", spend), count)


def _branch_done(row: BranchRow) -> BranchPayload:
    return BranchPayload(branch=BranchRecord.from_row(row), user_errors=[])


def _tier_done(result: tuple[TierRow, list[TierTermsRow]]) -> TierDefinitionPayload:
    return TierDefinitionPayload(tier=TierDefinition.of(*result), user_errors=[])


def _merchant_done(row: MerchantRow) -> MerchantAccountPayload:
    return MerchantAccountPayload(merchant=MerchantAccount.from_row(row), user_errors=[])


async def _set_merchant(info: Info, input: MerchantInput, active: bool) -> MerchantAccountPayload:
    async def write(session: AsyncSession, ctx: Context) -> MerchantRow:
        return await merchants.set_active(
            session,
            events=events_by(ctx),
            merchant_id=uuid_of(input.merchant_id, "Merchant", field="merchantId"),
            version=input.version,
            active=active,
        )

    return await mutation_payload(info, MerchantAccountPayload, write, _merchant_done)


@strawberry.type
class CatalogueAdminMutation:
    @scoped_field(
        Scope.ADMIN,
        "Creates a branch (admins; audited); the bank's sign-in accepts its code from then "
        "on." + ERRORS,
        staff_only=True,
    )
    async def create_branch(
        self, info: Info, input: Annotated[CreateBranchInput, described_argument("The branch.")]
    ) -> BranchPayload:
        async def write(session: AsyncSession, ctx: Context) -> BranchRow:
            return await branches.create_branch(
                session, events=events_by(ctx), code=input.code, name=input.name
            )

        return await mutation_payload(info, BranchPayload, write, _branch_done)

    @scoped_field(Scope.ADMIN, "Renames a branch (admins; audited)." + ERRORS, staff_only=True)
    async def rename_branch(
        self, info: Info, input: Annotated[RenameBranchInput, described_argument("The change.")]
    ) -> BranchPayload:
        async def write(session: AsyncSession, ctx: Context) -> BranchRow:
            return await branches.rename_branch(
                session,
                events=events_by(ctx),
                branch_id=uuid_of(input.branch_id, "Branch", field="branchId"),
                version=input.version,
                name=input.name,
            )

        return await mutation_payload(info, BranchPayload, write, _branch_done)

    @scoped_field(
        Scope.ADMIN,
        "Adds a tier to the catalogue with its first terms (admins; audited)." + ERRORS,
        staff_only=True,
    )
    async def create_tier(
        self, info: Info, input: Annotated[CreateTierInput, described_argument("The tier.")]
    ) -> TierDefinitionPayload:
        async def write(session: AsyncSession, ctx: Context) -> tuple[TierRow, list[TierTermsRow]]:
            data = tiers.NewTier(
                code=input.code,
                name=input.name,
                rank=input.rank,
                terms=_terms(
                    ctx, input.min_annual_spend, input.min_transactions, input.effective_from
                ),
                benefits=tuple(input.benefits),
                service_level_hours=input.service_level_hours,
                points_multiplier_percent=input.points_multiplier_percent,
            )
            tier = await tiers.create_tier(
                session, events=events_by(ctx), data=data, today=_today(ctx)
            )
            return await tiers.terms_of(session, tier)

        return await mutation_payload(info, TierDefinitionPayload, write, _tier_done)

    @scoped_field(
        Scope.ADMIN,
        "A new version of a tier's qualifying terms, in force from a day on (today or "
        "later, after its latest terms); evaluation qualifies customers by the terms in "
        "force on its day, and earlier terms stay in the catalogue (admins; audited)." + ERRORS,
        staff_only=True,
    )
    async def revise_tier(
        self, info: Info, input: Annotated[ReviseTierInput, described_argument("The terms.")]
    ) -> TierDefinitionPayload:
        async def write(session: AsyncSession, ctx: Context) -> tuple[TierRow, list[TierTermsRow]]:
            tier = await tiers.revise_tier(
                session,
                events=events_by(ctx),
                tier_id=uuid_of(input.tier_id, "Tier", field="tierId"),
                version=input.version,
                terms=_terms(
                    ctx, input.min_annual_spend, input.min_transactions, input.effective_from
                ),
                today=_today(ctx),
            )
            return await tiers.terms_of(session, tier)

        return await mutation_payload(info, TierDefinitionPayload, write, _tier_done)

    @scoped_field(
        Scope.ADMIN, "Adds a partner merchant (admins; audited)." + ERRORS, staff_only=True
    )
    async def create_merchant(
        self, info: Info, input: Annotated[CreateMerchantInput, described_argument("It.")]
    ) -> MerchantAccountPayload:
        async def write(session: AsyncSession, ctx: Context) -> MerchantRow:
            return await merchants.create_merchant(
                session, events=events_by(ctx), name=input.name, category=input.category
            )

        return await mutation_payload(info, MerchantAccountPayload, write, _merchant_done)

    @scoped_field(
        Scope.ADMIN,
        "Disables a merchant: its OAuth clients are revoked now, and it gets no new ones "
        "(admins; audited)." + ERRORS,
        staff_only=True,
    )
    async def disable_merchant(
        self, info: Info, input: Annotated[MerchantInput, described_argument("The merchant.")]
    ) -> MerchantAccountPayload:
        return await _set_merchant(info, input, active=False)

    @scoped_field(
        Scope.ADMIN,
        "Enables a disabled merchant (admins; audited); its revoked clients stay revoked: "
        "issue new ones with `cardcrm clients create`." + ERRORS,
        staff_only=True,
    )
    async def enable_merchant(
        self, info: Info, input: Annotated[MerchantInput, described_argument("The merchant.")]
    ) -> MerchantAccountPayload:
        return await _set_merchant(info, input, active=True)
