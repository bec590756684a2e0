"""The customer filter: which customers a list, a count or a saved segment means.

Every condition is SQL over the customer row and, for the evaluation's figures, its
``customer_metrics`` row (``IN (SELECT …)``), so a filter costs the same statements however
many customers it matches; list conditions are "any of", the rest must all hold. JSON list
columns (segments, tags) are matched by ``resolvers.json_lists`` on both databases.

A filter on a field the caller may not see would leak it (count the customers of grade E,
one condition at a time), so each guarded filter field names the policy row of the field
that shows its value (``FILTER_POLICY``), and a caller DENIED that row is refused with
FORBIDDEN before anything is read. Spend, last transaction, segments, tags, stage, tier and
activation are shown to everyone who may see the customer (``Customer.rfm``, ``segments``,
``tags``, ``lifecycleStage``, ``tier``, ``cards``) and need no row.

A filter is stored (saved segments) as the JSON of its validated form: ``to_json`` and
``from_json`` round-trip it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, exists
from sqlmodel import col, select

from auth.policy import Access, FieldRule, rule_for
from core.errors import BadUserInput, Forbidden
from core.identity import Principal
from core.instants import require_offsets
from core.money import cents_of, yuan
from models.cards.card import Card, CardStatus
from models.customers.customer import Customer, LifecycleStage, RiskGrade
from models.growth.customer_metrics import CustomerMetrics
from models.growth.tier import Tier, TierCode
from resolvers.customers.input import checked_tag
from resolvers.json_lists import json_list_overlaps
from resolvers.scoping import customer_scope

MAX_VALUES = 50  # the most values one "any of" list takes

# filter field (as the API spells it) → the policy row of the field that shows its value.
FILTER_POLICY: Mapping[str, FieldRule] = {
    "riskGrades": rule_for("Customer", "riskGrade"),
    "churnScore": rule_for("Customer", "churnRisk"),
}


@dataclass(frozen=True)
class Range:
    """Inclusive bounds; None: unbounded on that side."""

    min: Any = None
    max: Any = None

    def conditions(self, column: Any) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.min is not None:
            found.append(column >= self.min)
        if self.max is not None:
            found.append(column <= self.max)
        return found

    def checked(self, name: str) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise BadUserInput(f"`{name}.min` must not exceed `{name}.max`", field=name)
        return self


@dataclass(frozen=True)
class SegmentFilter:
    """A validated filter; empty tuples and None mean "no condition"."""

    branch_id: uuid.UUID | None = None
    tiers: tuple[str, ...] = ()
    lifecycle_stages: tuple[str, ...] = ()
    risk_grades: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    churn_score: Range | None = None
    spend_cents: Range | None = None
    days_since_last_transaction: Range | None = None
    activated: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def __post_init__(self) -> None:
        require_offsets(createdFrom=self.created_from, createdTo=self.created_to)

    def used(self) -> list[str]:
        """The API names of the conditions this filter sets."""
        return [_API_NAMES[f.name] for f in fields(self) if getattr(self, f.name) not in (None, ())]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name in self.used():
            value = getattr(self, _PY_NAMES[name])
            if isinstance(value, Range):
                value = {"min": _plain(value.min), "max": _plain(value.max)}
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, uuid.UUID | datetime):
                value = str(value) if isinstance(value, uuid.UUID) else value.isoformat()
            data[name] = value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SegmentFilter:
        values: dict[str, Any] = {}
        for name, value in data.items():
            py_name = _PY_NAMES[name]
            if py_name in _RANGES:
                value = Range(_RANGES[py_name](value["min"]), _RANGES[py_name](value["max"]))
            elif isinstance(value, list):
                value = tuple(value)
            elif py_name == "branch_id":
                value = uuid.UUID(value)
            elif py_name in ("created_from", "created_to"):
                value = datetime.fromisoformat(value)
            values[py_name] = value
        return cls(**values)


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, float) else value


def _or_none(convert: Any) -> Any:
    return lambda value: None if value is None else convert(value)


_RANGES = {
    "churn_score": _or_none(float),
    "spend_cents": _or_none(int),
    "days_since_last_transaction": _or_none(int),
}
_API_NAMES = {
    "branch_id": "branchId",
    "tiers": "tiers",
    "lifecycle_stages": "lifecycleStages",
    "risk_grades": "riskGrades",
    "segments": "segments",
    "tags": "tags",
    "churn_score": "churnScore",
    "spend_cents": "spend",
    "days_since_last_transaction": "daysSinceLastTransaction",
    "activated": "activated",
    "created_from": "createdFrom",
    "created_to": "createdTo",
}
_PY_NAMES = {api: py for py, api in _API_NAMES.items()}


def _codes(name: str, values: tuple[str, ...], allowed: frozenset[str]) -> tuple[str, ...]:
    if len(values) > MAX_VALUES:
        raise BadUserInput(f"`{name}` takes at most {MAX_VALUES} values", field=name)
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise BadUserInput(f"`{name}` has unknown values: {', '.join(unknown)}", field=name)
    return tuple(dict.fromkeys(values))


def _segment_codes(values: tuple[str, ...]) -> tuple[str, ...]:
    if len(values) > MAX_VALUES:
        raise BadUserInput(f"`segments` takes at most {MAX_VALUES} values", field="segments")
    for value in values:
        if (
            not value
            or len(value) > 64
            or not all(c.islower() or c.isdigit() or c == "_" for c in value)
        ):
            raise BadUserInput("`segments` are lower-case codes like big_ticket", field="segments")
    return tuple(dict.fromkeys(values))


def checked_filter(data: SegmentFilter) -> SegmentFilter:
    """The filter with its values checked and normalised (BAD_USER_INPUT otherwise)."""
    if len(data.tags) > MAX_VALUES:
        raise BadUserInput(f"`tags` takes at most {MAX_VALUES} values", field="tags")
    for name, bounds in (
        ("churnScore", data.churn_score),
        ("spend", data.spend_cents),
        ("daysSinceLastTransaction", data.days_since_last_transaction),
    ):
        if bounds is not None:
            bounds.checked(name)
    return SegmentFilter(
        branch_id=data.branch_id,
        tiers=_codes("tiers", data.tiers, frozenset(TierCode)),
        lifecycle_stages=_codes(
            "lifecycleStages", data.lifecycle_stages, frozenset(LifecycleStage)
        ),
        risk_grades=_codes("riskGrades", data.risk_grades, frozenset(RiskGrade)),
        segments=_segment_codes(data.segments),
        tags=tuple(dict.fromkeys(checked_tag("tags", tag) for tag in data.tags)),
        churn_score=data.churn_score,
        spend_cents=data.spend_cents,
        days_since_last_transaction=data.days_since_last_transaction,
        activated=data.activated,
        created_from=data.created_from,
        created_to=data.created_to,
    )


def spend_range(min_yuan: Decimal | None, max_yuan: Decimal | None) -> Range:
    """A spend range typed in yuan, kept in fen."""
    return Range(
        None if min_yuan is None else cents_of("spend.min", min_yuan),
        None if max_yuan is None else cents_of("spend.max", max_yuan),
    )


def spend_yuan(bounds: Range) -> tuple[Decimal | None, Decimal | None]:
    return (
        None if bounds.min is None else yuan(bounds.min),
        None if bounds.max is None else yuan(bounds.max),
    )


def refuse_unseen(principal: Principal, data: SegmentFilter) -> None:
    """FORBIDDEN for a condition on a field the caller may not see (``FILTER_POLICY``)."""
    for name in data.used():
        rule = FILTER_POLICY.get(name)
        if rule is not None and rule.access_for(principal) is Access.DENIED:
            raise Forbidden(
                f"filtering by `{name}` needs the right to see {rule.type_name}.{rule.field_name}",
                field=f"filter.{name}",
            )


def _metrics(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    # Never correlated: the page and offer queries join customer_metrics themselves.
    metrics = select(CustomerMetrics.customer_id).where(*conditions)
    return col(Customer.id).in_(metrics.correlate_except(CustomerMetrics))


def filter_conditions(principal: Principal, data: SegmentFilter) -> list[ColumnElement[bool]]:
    """The caller's row scope and the filter's conditions, as SQL over ``customers``;
    FORBIDDEN first for a condition on a field the caller may not see. An erased customer
    is in no list or segment: the tombstone stays only for the records that point at it
    (``Customer.erasedAt``), which still read it by id."""
    refuse_unseen(principal, data)
    found: list[Any] = [customer_scope(principal), col(Customer.erased_at).is_(None)]
    if data.branch_id is not None:
        found.append(Customer.branch_id == data.branch_id)
    if data.tiers:
        found.append(
            col(Customer.tier_id).in_(select(Tier.id).where(col(Tier.code).in_(data.tiers)))
        )
    if data.lifecycle_stages:
        found.append(col(Customer.lifecycle_stage).in_(data.lifecycle_stages))
    if data.risk_grades:
        found.append(col(Customer.risk_grade).in_(data.risk_grades))
    if data.segments:
        found.append(json_list_overlaps(Customer.segments, data.segments))
    if data.tags:
        found.append(json_list_overlaps(Customer.tags, data.tags))
    if data.churn_score is not None:
        found.append(_metrics(*data.churn_score.conditions(col(CustomerMetrics.churn_score))))
    if data.spend_cents is not None:
        found.append(_metrics(*data.spend_cents.conditions(col(CustomerMetrics.monetary_cents))))
    if data.days_since_last_transaction is not None:
        recency = col(CustomerMetrics.recency_days)
        bounds = data.days_since_last_transaction.conditions(recency)
        found.append(_metrics(recency.is_not(None), *bounds))
    if data.activated is not None:
        active = exists().where(
            col(Card.customer_id) == col(Customer.id), col(Card.status) == CardStatus.ACTIVATED
        )
        found.append(active if data.activated else ~active)
    if data.created_from is not None:
        found.append(Customer.created_at >= data.created_from)
    if data.created_to is not None:
        found.append(Customer.created_at < data.created_to)
    return found
