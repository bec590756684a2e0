"""The tier ladder as it qualifies on a given day: each tier with its terms in force.

A catalogue edit is a new ``tier_terms`` row taking effect on a day (``resolvers.admin.tiers``);
qualification on a day uses each tier's latest terms from on or before it, and a tier with
none in force its own row's thresholds. One statement reads the ladder with its terms, for
evaluation and for a customer's tier progress alike. Days are the bank's
(``contact_timezone``), like every other calendar rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from models.growth.tier import Tier, TierTerms
from resolvers.growth.tier_rules import TierRule


def bank_day(instant: datetime, timezone: str) -> date:
    return instant.astimezone(ZoneInfo(timezone)).date()


def ladder_query(on: date) -> Select[Tier, TierTerms]:
    """Every tier, lowest rank first, with its terms in force ``on`` (None: no such terms)."""
    other = aliased(TierTerms)
    newest = (
        select(func.max(other.effective_from))
        .where(other.tier_id == col(Tier.id), other.effective_from <= on)
        .correlate(Tier)
        .scalar_subquery()
    )
    return (
        select(Tier, TierTerms)
        .join(
            TierTerms,
            and_(col(TierTerms.tier_id) == col(Tier.id), col(TierTerms.effective_from) == newest),
            isouter=True,
        )
        .order_by(col(Tier.rank))
    )


def rules_in_force(rows: Iterable[Any]) -> list[TierRule]:
    return [
        TierRule(
            tier.id, tier.code, tier.rank, terms.min_annual_spend_cents, terms.min_transactions
        )
        if terms is not None
        else TierRule.from_row(tier)
        for tier, terms in rows
    ]
