"""The administration reads: branches, staff accounts, the tier catalogue and merchants."""

from __future__ import annotations

from typing import Annotated

import strawberry

from core.context import Info
from core.identity import Role, Scope
from resolvers.admin import listing
from resolvers.admin.branches import list_branches
from resolvers.admin.merchants import list_merchants
from resolvers.admin.tiers import tier_catalogue
from resolvers.pagination import PageArgs
from schema.admin.types import BranchRecord, MerchantAccount, StaffAccount, TierDefinition
from schema.relay import After, Connection, First, uuid_of
from schema.scope_field import scoped_field


@strawberry.input(description="Narrows `staffAccounts`; every given condition must hold.")
class StaffAccountFilter:
    branch: strawberry.ID | None = strawberry.field(
        default=None, description="Only accounts of this branch (a Branch ID)."
    )
    role: Role | None = strawberry.field(default=None, description="Only this role.")
    include_disabled: bool = strawberry.field(
        default=True, description="False: only active accounts."
    )

    def to_filter(self) -> listing.AccountFilter:
        branch_id = uuid_of(self.branch, "Branch", field="filter.branch") if self.branch else None
        return listing.AccountFilter(branch_id, self.role, self.include_disabled)


@strawberry.type
class AdminQuery:
    @scoped_field(Scope.STAFF_READ, "Every branch, by code, with its version.", staff_only=True)
    async def branches(self, info: Info) -> list[BranchRecord] | None:
        return [BranchRecord.from_row(row) for row in await list_branches(info.context.db)]

    @scoped_field(
        Scope.STAFF_READ,
        "Staff accounts with their sign-in state (disabled, locked, one-time password "
        "pending), oldest first: every branch for an admin, their own branch for a "
        "supervisor; other roles are refused (FORBIDDEN).",
        staff_only=True,
    )
    async def staff_accounts(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            StaffAccountFilter | None, strawberry.argument(description="Narrows the list.")
        ] = None,
    ) -> Connection[StaffAccount] | None:
        page, count = await listing.list_accounts(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            filter=filter.to_filter() if filter else listing.AccountFilter(),
            page=PageArgs(first=first, after=after),
        )
        return Connection.build(page, StaffAccount.from_row, count)

    @scoped_field(
        Scope.ADMIN,
        "The tier catalogue, lowest rank first, with every version of each tier's terms.",
        staff_only=True,
    )
    async def tier_catalogue(self, info: Info) -> list[TierDefinition] | None:
        rows = await tier_catalogue(info.context.db)
        return [TierDefinition.of(tier, terms) for tier, terms in rows]

    @scoped_field(Scope.ADMIN, "Every partner merchant, by name.", staff_only=True)
    async def merchant_accounts(self, info: Info) -> list[MerchantAccount] | None:
        return [MerchantAccount.from_row(row) for row in await list_merchants(info.context.db)]
