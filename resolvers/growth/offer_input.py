"""Validation of an offer's terms: one function per rule, each failure BAD_USER_INPUT naming
the field and saying what would be accepted.

Creating and updating an offer both end in ``OfferTerms.checked()``: an update merges the
changed fields onto the offer's current terms first, so a new ``endsAt`` is checked against
the stored ``startsAt`` and the other way round.

The terms are kept as stored: money in integer cents, percentages and multipliers as whole
numbers. The schema converts the API's yuan with ``cents_of`` and ``benefitValue`` with
``benefit_units``; field names in the errors are the API's (``budget``, ``minSpend``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from core import text_limits
from core.errors import BadUserInput
from core.money import MAX_CENTS, MAX_YUAN, cents_of
from models.columns import utcnow
from models.customers.customer import LifecycleStage
from models.growth.offer import BenefitType, Offer
from models.growth.tier import TierCode
from models.transactions.transaction import MerchantCategory
from resolvers.growth.benefit import VALUE_RANGES, checked_benefit

MAX_TITLE = text_limits.OFFER_TITLE
MAX_DESCRIPTION = text_limits.OFFER_DESCRIPTION
MAX_LIST = 20
_SEGMENT = re.compile(r"[a-z][a-z0-9_]{0,31}")  # fullmatch: "$" would let "\n" in


@dataclass(frozen=True)
class OfferTerms:
    """Everything a marketer decides about an offer (the status is the workflow's)."""

    merchant_id: uuid.UUID
    title: str
    benefit_type: str
    benefit_value: int
    starts_at: datetime
    ends_at: datetime
    description: str = ""
    category: str = MerchantCategory.OTHER
    quota: int | None = None
    budget_cents: int | None = None
    min_spend_cents: int = 0
    eligible_tiers: tuple[str, ...] = ()
    eligible_stages: tuple[str, ...] = ()
    eligible_segments: tuple[str, ...] = ()
    spend_categories: tuple[str, ...] = ()

    @classmethod
    def of(cls, offer: Offer) -> OfferTerms:
        values = {f.name: getattr(offer, f.name) for f in fields(cls)}
        for name in _LIST_FIELDS:
            values[name] = tuple(values[name])
        return cls(**values)

    def merged(self, changes: dict[str, Any]) -> OfferTerms:
        """These terms with ``changes`` applied; None clears a limit and leaves the rest."""
        given = {k: v for k, v in changes.items() if v is not None or k in _CLEARABLE}
        return replace(self, **given)

    def checked(self, *, now: datetime | None = None) -> OfferTerms:
        kind, value = checked_benefit(self.benefit_type, self.benefit_value)
        starts_at, ends_at = _window(self.starts_at, self.ends_at, now or utcnow())
        return replace(
            self,
            title=_text("title", self.title, MAX_TITLE, required=True),
            description=_text("description", self.description, MAX_DESCRIPTION, required=False),
            category=_codes("category", (self.category,), MerchantCategory)[0],
            benefit_type=kind.value,
            benefit_value=value,
            starts_at=starts_at,
            ends_at=ends_at,
            quota=_positive("quota", self.quota),
            budget_cents=_budget(self.budget_cents),
            min_spend_cents=_min_spend(self.min_spend_cents),
            eligible_tiers=_codes("eligibleTiers", self.eligible_tiers, TierCode),
            eligible_stages=_codes("eligibleStages", self.eligible_stages, LifecycleStage),
            eligible_segments=_segments(self.eligible_segments),
            spend_categories=_codes("spendCategories", self.spend_categories, MerchantCategory),
        )

    def columns(self) -> dict[str, Any]:
        """The terms as ``offers`` column values (lists as JSON lists)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in _LIST_FIELDS:
            values[name] = list(values[name])
        return values


_CLEARABLE = frozenset({"quota", "budget_cents"})
_LIST_FIELDS = ("eligible_tiers", "eligible_stages", "eligible_segments", "spend_categories")


def benefit_units(benefit_type: BenefitType, value: Decimal) -> int:
    """``benefitValue`` as the API gives it, in the unit the offer keeps: a whole percent or
    multiplier as is, yuan (at most two decimals) as cents. Its range is checked by
    ``OfferTerms.checked()``."""
    allowed = VALUE_RANGES[benefit_type]
    if allowed.in_yuan:
        return cents_of("benefitValue", value)
    if not value.is_finite() or value != value.to_integral_value():
        raise BadUserInput(
            f"benefitValue of a {benefit_type.value} offer must be a whole number "
            f"({allowed.describe()})",
            field="benefitValue",
        )
    return int(value)


def _text(field: str, value: str, limit: int, *, required: bool) -> str:
    text = " ".join((value or "").split()) if field == "title" else (value or "").strip()
    if required and not text:
        raise BadUserInput(f"{field} must not be empty", field=field)
    if len(text) > limit:
        raise BadUserInput(f"{field} may be at most {limit} characters", field=field)
    return text


def _window(starts_at: datetime, ends_at: datetime, now: datetime) -> tuple[datetime, datetime]:
    for field, value in (("startsAt", starts_at), ("endsAt", ends_at)):
        if value.tzinfo is None:
            raise BadUserInput(f"{field} needs a UTC offset (e.g. ...Z)", field=field)
    if ends_at <= starts_at:
        raise BadUserInput("endsAt must be later than startsAt", field="endsAt")
    if ends_at <= now:
        raise BadUserInput("endsAt must be in the future", field="endsAt")
    return starts_at, ends_at


def _positive(field: str, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise BadUserInput(f"{field} must be at least 1 (or left out for no limit)", field=field)
    return value


def _budget(cents: int | None) -> int | None:
    if cents is not None and not 1 <= cents <= MAX_CENTS:
        raise BadUserInput(
            f"budget must be from 0.01 to {MAX_YUAN} yuan (or left out for no limit)",
            field="budget",
        )
    return cents


def _min_spend(cents: int) -> int:
    if not 0 <= cents <= MAX_CENTS:
        raise BadUserInput(f"minSpend must be from 0 to {MAX_YUAN} yuan", field="minSpend")
    return cents


def _codes(field: str, values: tuple[str, ...], known: type[StrEnum]) -> tuple[str, ...]:
    """Known codes, each once, sorted; an unknown one is named with the accepted ones."""
    codes = tuple(sorted({str(v).strip().lower() for v in values}))
    unknown = [code for code in codes if code not in known._value2member_map_]
    if unknown:
        raise BadUserInput(
            f"{field} has unknown value(s) {', '.join(unknown)}; known: {', '.join(known)}",
            field=field,
        )
    if len(codes) > MAX_LIST:
        raise BadUserInput(f"{field} may list at most {MAX_LIST} values", field=field)
    return codes


def _is_segment(code: str) -> bool:
    return len(code) <= text_limits.SEGMENT and _SEGMENT.fullmatch(code) is not None


def _segments(values: tuple[str, ...]) -> tuple[str, ...]:
    """Segments are computed by evaluation; any lower-case code may name one."""
    codes = tuple(sorted({v.strip().lower() for v in values}))
    bad = [code for code in codes if not _is_segment(code)]
    if bad:
        shown = ", ".join(code[: text_limits.SEGMENT] for code in bad[:5])
        raise BadUserInput(
            f"eligibleSegments must be lower-case codes like big_ticket; not: {shown}",
            field="eligibleSegments",
        )
    if len(codes) > MAX_LIST:
        raise BadUserInput(
            f"eligibleSegments may list at most {MAX_LIST}", field="eligibleSegments"
        )
    return codes
