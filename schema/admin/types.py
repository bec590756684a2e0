"""What the administration fields answer: accounts, catalogue versions and merchants as an
administrator sees them (with their ``version``), and the mutations' payloads.

Their ``id`` is the object's usual global ID (a ``StaffMember``, ``Tier``, ``Branch`` or
merchant ID), so it is accepted wherever that object's ID is.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import strawberry

from core.context import Info
from core.identity import Role
from core.money import yuan
from models.growth.tier import Tier as TierRow
from models.growth.tier import TierCode
from models.growth.tier import TierTerms as TierTermsRow
from models.merchants.merchant import Merchant as MerchantRow
from models.organisation.organisation import Branch as BranchRow
from models.organisation.organisation import StaffUser as StaffUserRow
from resolvers.organisation.loaders import BranchByIdLoader
from schema.common import UserError, payload_field
from schema.organisation.organisation import Branch
from schema.policy_field import sensitive_field
from schema.relay import to_global_id

VERSION = "Bumped by every change; pass it back to change the object (stale: CONFLICT)."


@strawberry.type(description="A branch with its version, as administrators change it.")
class BranchRecord:
    id: strawberry.ID = strawberry.field(description="The branch's ID (a Branch ID).")
    code: str = strawberry.field(description="The branch's short unique code (fixed).")
    name: str = strawberry.field(description="The branch's display name.")
    version: int = strawberry.field(description=VERSION)

    @classmethod
    def from_row(cls, row: BranchRow) -> BranchRecord:
        return cls(
            id=strawberry.ID(to_global_id("Branch", row.id)),
            code=row.code,
            name=row.name,
            version=row.version,
        )


@strawberry.type(description="A staff account with its sign-in state, for those who manage it.")
class StaffAccount:
    id: strawberry.ID = strawberry.field(description="The account's ID (a StaffMember ID).")
    username: str = strawberry.field(description="The sign-in name.")
    display_name: str = strawberry.field(description="The name to show for them.")
    role: Role = strawberry.field(description="Their role.")
    is_active: bool = strawberry.field(description="False: disabled, no sign-in, no token.")
    # Sign-in state: the policy table's rows (auth/policy_admin.py) describe and guard them.
    locked_until: datetime | None = sensitive_field("StaffAccount", "lockedUntil")
    must_change_password: bool = sensitive_field("StaffAccount", "mustChangePassword")
    password_changed_at: datetime | None = sensitive_field("StaffAccount", "passwordChangedAt")
    version: int = strawberry.field(description=VERSION)
    _branch_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Their branch; null for roles that work across branches.")
    async def branch(self, info: Info) -> Branch | None:
        if self._branch_id is None:
            return None
        row = await info.context.loader(BranchByIdLoader).load(self._branch_id)
        return Branch.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: StaffUserRow) -> StaffAccount:
        return cls(
            id=strawberry.ID(to_global_id("StaffMember", row.id)),
            username=row.username,
            display_name=row.display_name,
            role=Role(row.role),
            is_active=row.is_active,
            locked_until=row.locked_until,
            must_change_password=row.must_change_password,
            password_changed_at=row.password_changed_at,
            version=row.version,
            _branch_id=row.branch_id,
        )


@strawberry.type(description="A version of a tier's qualifying thresholds, in force from a day.")
class TierTerms:
    effective_from: date = strawberry.field(
        description="The first day (bank time) evaluation qualifies customers by these terms."
    )
    min_annual_spend: Decimal = strawberry.field(
        description="The spend over the last 365 days it needs, in yuan."
    )
    min_transactions: int = strawberry.field(
        description="The purchases over the last 365 days it needs."
    )

    @classmethod
    def from_row(cls, row: TierTermsRow) -> TierTerms:
        return cls(
            effective_from=row.effective_from,
            min_annual_spend=yuan(row.min_annual_spend_cents),
            min_transactions=row.min_transactions,
        )


@strawberry.type(description="A tier of the catalogue with every version of its terms.")
class TierDefinition:
    id: strawberry.ID = strawberry.field(description="The tier's ID (a Tier ID).")
    code: TierCode = strawberry.field(description="The tier's stable code.")
    name: str = strawberry.field(description="The tier's display name.")
    rank: int = strawberry.field(description="Its place on the ladder: higher is better.")
    benefits: list[str] = strawberry.field(description="The tier's benefits, one line each.")
    service_level_hours: int = strawberry.field(description="Its complaint service level.")
    points_multiplier_percent: int = strawberry.field(
        description="Points earned per purchase, in percent of the base (100 = 1x)."
    )
    version: int = strawberry.field(description=VERSION)
    terms: list[TierTerms] = strawberry.field(
        description="Every version of its terms, oldest first; the latest one whose "
        "`effectiveFrom` has come is in force (none: the thresholds it was created with)."
    )

    @classmethod
    def of(cls, row: TierRow, terms: list[TierTermsRow]) -> TierDefinition:
        return cls(
            id=strawberry.ID(to_global_id("Tier", row.id)),
            code=TierCode(row.code),
            name=row.name,
            rank=row.rank,
            benefits=list(row.benefits),
            service_level_hours=row.service_level_hours,
            points_multiplier_percent=row.points_multiplier_percent,
            version=row.version,
            terms=[TierTerms.from_row(t) for t in terms],
        )


@strawberry.type(description="A partner merchant, as administrators manage it.")
class MerchantAccount:
    id: strawberry.ID = strawberry.field(description="The merchant's ID.")
    name: str = strawberry.field(description="The partner's name.")
    category: str = strawberry.field(description="Its merchant category code.")
    is_active: bool = strawberry.field(
        description="False: disabled; its OAuth clients are revoked and it gets no new ones."
    )
    version: int = strawberry.field(description=VERSION)

    @classmethod
    def from_row(cls, row: MerchantRow) -> MerchantAccount:
        return cls(
            id=strawberry.ID(to_global_id("Merchant", row.id)),
            name=row.name,
            category=row.category,
            is_active=row.is_active,
            version=row.version,
        )


@strawberry.type(description="The result of a branch change.")
class BranchPayload:
    branch: BranchRecord | None = payload_field("The branch as changed; null when refused.")
    user_errors: list[UserError] = payload_field("Why nothing was written.", list)


@strawberry.type(description="The result of a staff account change.")
class StaffAccountPayload:
    account: StaffAccount | None = payload_field("The account as changed; null when refused.")
    one_time_password: str | None = payload_field(
        "The one-time password that createStaffUser and resetStaffPassword make, shown this "
        "once (stored only hashed); hand it over privately. Null otherwise."
    )
    user_errors: list[UserError] = payload_field("Why nothing was written.", list)


@strawberry.type(description="The result of a tier catalogue change.")
class TierDefinitionPayload:
    tier: TierDefinition | None = payload_field("The tier as changed; null when refused.")
    user_errors: list[UserError] = payload_field("Why nothing was written.", list)


@strawberry.type(description="The result of a merchant change.")
class MerchantAccountPayload:
    merchant: MerchantAccount | None = payload_field("The merchant; null when refused.")
    user_errors: list[UserError] = payload_field("Why nothing was written.", list)
