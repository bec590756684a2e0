"""The tier catalogue as an administrator edits it: tiers and their versioned terms.

Creating a tier writes its row and its first terms; a later edit of what qualifies for it
(``revise_tier``) never rewrites the past: it adds terms that take effect on a day, today
at the earliest and after the tier's latest terms, and evaluation from that day on
qualifies customers by them (``resolvers.growth.tier_terms``). Each edit bumps the tier's
version (CONFLICT when stale) and is audited.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from core.errors import BadUserInput, Conflict
from models.growth.tier import Tier, TierCode, TierTerms
from resolvers.admin.branches import checked_name
from resolvers.admin.common import Events, Reader, check_version, locked

MAX_BENEFITS, MAX_BENEFIT_LENGTH = 20, 200


@dataclass(frozen=True)
class Terms:
    effective_from: date
    min_annual_spend_cents: int
    min_transactions: int

    def checked(self, today: date) -> Terms:
        if self.min_annual_spend_cents < 0:
            raise BadUserInput("the annual spend cannot be negative", field="minAnnualSpend")
        if self.min_transactions < 0:
            raise BadUserInput("the transactions cannot be negative", field="minTransactions")
        if self.effective_from < today:
            raise BadUserInput(
                f"terms take effect today ({today}) or later, never in the past",
                field="effectiveFrom",
            )
        return self


@dataclass(frozen=True)
class NewTier:
    code: TierCode
    name: str
    rank: int
    terms: Terms
    benefits: tuple[str, ...] = ()
    service_level_hours: int = 72
    points_multiplier_percent: int = 100

    def row(self, today: date) -> Tier:
        if not 0 <= self.rank <= 1000:
            raise BadUserInput("a rank is 0 to 1000", field="rank")
        if not 1 <= self.service_level_hours <= 720:
            raise BadUserInput("a service level is 1 to 720 hours", field="serviceLevelHours")
        if not 0 <= self.points_multiplier_percent <= 1000:
            raise BadUserInput(
                "a points multiplier is 0 to 1000 percent", field="pointsMultiplierPercent"
            )
        benefits = [line.strip() for line in self.benefits if line.strip()]
        if len(benefits) > MAX_BENEFITS or any(len(b) > MAX_BENEFIT_LENGTH for b in benefits):
            raise BadUserInput(
                f"at most {MAX_BENEFITS} benefits of {MAX_BENEFIT_LENGTH} characters each",
                field="benefits",
            )
        terms = self.terms.checked(today)
        return Tier(
            code=self.code.value,
            name=checked_name(self.name, limit=64),
            rank=self.rank,
            min_annual_spend_cents=terms.min_annual_spend_cents,
            min_transactions=terms.min_transactions,
            benefits=benefits,
            service_level_hours=self.service_level_hours,
            points_multiplier_percent=self.points_multiplier_percent,
        )


def _event(events: Events, action: str, tier: Tier, terms: TierTerms) -> audit.AuditEvent:
    return events(
        action,
        target_type="Tier",
        target_id=str(tier.id),
        details={
            "code": tier.code,
            "version": tier.version,
            "effective_from": terms.effective_from.isoformat(),
            "min_annual_spend_cents": terms.min_annual_spend_cents,
            "min_transactions": terms.min_transactions,
        },
    )


async def create_tier(session: AsyncSession, *, events: Events, data: NewTier, today: date) -> Tier:
    tier = data.row(today)
    taken = await session.scalar(
        select(func.count())
        .select_from(Tier)
        .where(or_(col(Tier.code) == tier.code, col(Tier.rank) == tier.rank))
    )
    if taken:
        raise Conflict(f"a tier with code {tier.code} or rank {tier.rank} exists", field="code")
    session.add(tier)
    await session.flush()
    terms = TierTerms(
        tier_id=tier.id,
        effective_from=data.terms.effective_from,
        min_annual_spend_cents=tier.min_annual_spend_cents,
        min_transactions=tier.min_transactions,
    )
    session.add(terms)
    await audit.record_and_commit(session, _event(events, "tier.create", tier, terms))
    return tier


async def revise_tier(
    session: AsyncSession,
    *,
    events: Events,
    tier_id: uuid.UUID,
    version: int | None,
    terms: Terms,
    today: date,
) -> Tier:
    """New terms for the tier from ``terms.effective_from`` on; the earlier ones stay."""
    tier = await locked(session, Tier, tier_id, "tier", "tierId")
    check_version(tier, version, "tier")
    terms.checked(today)
    latest = await session.scalar(
        select(func.max(TierTerms.effective_from)).where(col(TierTerms.tier_id) == tier.id)
    )
    if latest is not None and terms.effective_from <= latest:
        raise BadUserInput(
            f"the tier's latest terms take effect on {latest}; new ones must come after",
            field="effectiveFrom",
        )
    row = TierTerms(
        tier_id=tier.id,
        effective_from=terms.effective_from,
        min_annual_spend_cents=terms.min_annual_spend_cents,
        min_transactions=terms.min_transactions,
    )
    session.add(row)
    await audit.record_and_commit(session, _event(events, "tier.revise", tier, row))
    return tier


async def tier_catalogue(session: Reader) -> list[tuple[Tier, list[TierTerms]]]:
    """Every tier, lowest rank first, with all its terms, oldest first (two statements)."""
    tiers = list(await session.scalars(select(Tier).order_by(col(Tier.rank))))
    terms: dict[uuid.UUID, list[TierTerms]] = defaultdict(list)
    for row in await session.scalars(select(TierTerms).order_by(col(TierTerms.effective_from))):
        terms[row.tier_id].append(row)
    return [(tier, terms[tier.id]) for tier in tiers]


async def tier_by_code(session: AsyncSession, code: TierCode) -> Tier:
    tier = await session.scalar(select(Tier).where(col(Tier.code) == code.value))
    if tier is None:
        raise BadUserInput(f"no tier {code.value}", field="code")
    return tier


async def terms_of(session: AsyncSession, tier: Tier) -> tuple[Tier, list[TierTerms]]:
    """The tier with all its terms, oldest first (what a mutation answers)."""
    rows = await session.scalars(
        select(TierTerms)
        .where(col(TierTerms.tier_id) == tier.id)
        .order_by(col(TierTerms.effective_from))
    )
    return tier, list(rows)
