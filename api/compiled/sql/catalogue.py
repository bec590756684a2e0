"""Where the planner finds each GraphQL field it can plan: a column, a sealed cell, a row joined
for a to-one object, or a child list read for a whole page in one statement.

This says only where a value *comes from*, exactly as the type's ``from_row`` and resolvers
take it; who may see it is read off the schema's own declarations (the policy rule or the
scope on the field), never here. A field not listed is not planned: an operation that selects
it runs on the resolver-driven compiled executor instead. The equality tests
(``tests/api/compiled/sql``) hold every entry to the standard executor's answer, field by
field, for every role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sqlalchemy import Table, column, table
from sqlalchemy.engine import Dialect

from api.compiled.plan import Fallback
from api.compiled.sql.recommendations import RECORD_COLUMNS, PlannedRecommendations
from core.identity import Principal
from core.money import yuan
from models.cards.card import Card, CardStatus
from models.cards.statement import OverdueBucket
from models.customers.customer import Customer, Gender, LifecycleStage, RiskGrade
from models.growth.tier import Tier, TierCode
from models.organisation.organisation import Branch
from models.service_desk.complaint import (
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintSeverity,
    ComplaintStatus,
)
from models.service_desk.interaction import Interaction, InteractionChannel, InteractionKind
from resolvers.customers.segment_filter import SegmentFilter, filter_conditions
from resolvers.service_desk.complaint_queries import ComplaintFilter, complaint_conditions
from resolvers.service_desk.complaint_workflow import COMPLAINT_WORKFLOW, ComplaintAction
from resolvers.service_desk.interactions import Direction
from resolvers.service_desk.sla import overdue
from schema.growth.offer import shown_affinity


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


@dataclass(frozen=True)
class Column:
    """A value read from one column, converted as the type's ``from_row`` converts it."""

    name: str
    convert: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Sealed:
    """A sealed C2 value: ``<field>_enc``, opened with the row's id as its cell. ``author``
    names the column of the record's author, for a rule that shows its author the value
    in clear (OWN_CLEAR: the ``_owner`` the type gives the policy)."""

    field: str
    author: str | None = None


@dataclass(frozen=True)
class GlobalId:
    """A Relay ID (``to_global_id(type, value)``) of the row's ``column``: its own id, or
    another record's it names (null when that column is)."""

    type_name: str
    column: str = "id"


@dataclass(frozen=True)
class Embedded:
    """An object made of the same row's columns (a customer's consent)."""

    type_name: str


@dataclass(frozen=True)
class ToOne:
    """An object whose row is joined into the parent's statement (``column`` = its id)."""

    column: str
    type_name: str


@dataclass(frozen=True)
class ChildList:
    """A list read for every parent of a level in one statement: the rows whose ``foreign``
    column names a parent, in ``order`` (as the field's DataLoader orders them)."""

    type_name: str
    foreign: str
    order: tuple[str, ...]


@dataclass(frozen=True)
class ChildConnection:
    """A connection read for every parent of a level in one statement: each parent's first
    rows by ``row_number() over (partition by foreign order by order desc)``, as the
    field's DataLoader pages them; its cursor is ``order``'s two columns. ``scope`` gives
    the rows' own scope conditions for a caller, as the loader applies them."""

    type_name: str
    foreign: str
    order: tuple[str, str]
    scope: Callable[[Principal], list[Any]] | None = None


@dataclass(frozen=True)
class Computed:
    """A value the type computes from some of its row's columns, with the same function."""

    columns: tuple[str, ...]
    compute: Callable[..., Any]


@dataclass(frozen=True)
class Derived:
    """A list the schema computes in Python for a whole level of parents (recommendations):
    ``prepare`` makes, once per dialect, what reads a level's records (dicts of the type's
    ``table`` columns), each parent's cut to the field's ``first``."""

    type_name: str
    prepare: Callable[[Dialect], Any]


Source = (
    Column | Sealed | GlobalId | Embedded | ToOne | ChildList | ChildConnection | Computed | Derived
)


@dataclass(frozen=True)
class TypeSource:
    table: Table
    fields: dict[str, Source] = field(default_factory=dict)


def _nullable(kind: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else kind(value)


CUSTOMER = TypeSource(
    _table(Customer),
    {
        "id": GlobalId("Customer"),
        "gender": Column("gender", Gender),
        "lifecycleStage": Column("lifecycle_stage", LifecycleStage),
        "consent": Embedded("Consent"),
        "tags": Column("tags", list),
        "segments": Column("segments", list),
        "version": Column("version"),
        "createdAt": Column("created_at"),
        "updatedAt": Column("updated_at"),
        "erasedAt": Column("erased_at"),
        "name": Sealed("name"),
        "birthDate": Sealed("birth_date"),
        "idNumber": Sealed("id_number"),
        "phone": Sealed("phone"),
        "email": Sealed("email"),
        "address": Sealed("address"),
        "customerNumber": Sealed("customer_number"),
        "riskGrade": Column("risk_grade", RiskGrade),
        "creditScore": Column("credit_score"),
        "branch": ToOne("branch_id", "Branch"),
        "tier": ToOne("tier_id", "Tier"),
        "cards": ChildList("Card", "customer_id", ("created_at", "id")),
        "interactions": ChildConnection("Interaction", "customer_id", ("occurred_at", "id")),
        "complaints": ChildConnection(
            "Complaint",
            "customer_id",
            ("created_at", "id"),
            scope=lambda caller: complaint_conditions(caller, ComplaintFilter()),
        ),
        "recommendedOffers": Derived("RecommendedOffer", PlannedRecommendations),
    },
)
CONSENT = TypeSource(
    _table(Customer),
    {
        "sms": Column("consent_sms"),
        "email": Column("consent_email"),
        "push": Column("consent_push"),
        "phone": Column("consent_phone"),
        "doNotDisturbStart": Column("do_not_disturb_start"),
        "doNotDisturbEnd": Column("do_not_disturb_end"),
        "preferredChannel": Column("preferred_channel"),
    },
)
CARD = TypeSource(
    _table(Card),
    {
        "id": GlobalId("Card"),
        "product": Column("product"),
        "status": Column("status", CardStatus),
        "issuedAt": Column("issued_at"),
        "activatedAt": Column("activated_at"),
        "version": Column("version"),
        "pan": Sealed("pan"),
        "bin": Column("bin"),
        "last4": Column("last4"),
        "creditLimit": Column("credit_limit_cents", _nullable(yuan)),
        "statementDay": Column("statement_day"),
        "dueDays": Column("due_days"),
        "daysPastDue": Column("days_past_due"),
        "overdueBucket": Column("overdue_bucket", OverdueBucket),
    },
)
TIER = TypeSource(
    _table(Tier),
    {
        "id": GlobalId("Tier"),
        "code": Column("code", TierCode),
        "name": Column("name"),
        "rank": Column("rank"),
        "benefits": Column("benefits", list),
        "serviceLevelHours": Column("service_level_hours"),
    },
)
BRANCH = TypeSource(
    _table(Branch),
    {"id": GlobalId("Branch"), "code": Column("code"), "name": Column("name")},
)
INTERACTION = TypeSource(
    _table(Interaction),
    {
        "id": GlobalId("Interaction"),
        "channel": Column("channel", InteractionChannel),
        "direction": Column("direction", Direction),
        "kind": Column("kind", InteractionKind),
        "subject": Column("subject"),
        "outcome": Column("outcome"),
        "satisfaction": Column("satisfaction"),
        "complaintId": GlobalId("Complaint", "complaint_id"),
        "occurredAt": Column("occurred_at"),
        "notes": Sealed("notes", author="staff_id"),
    },
)
COMPLAINT = TypeSource(
    _table(Complaint),
    {
        "id": GlobalId("Complaint"),
        "category": Column("category", ComplaintCategory),
        "channel": Column("channel"),
        "severity": Column("severity", ComplaintSeverity),
        "status": Column("status", ComplaintStatus),
        "dueAt": Column("due_at"),
        "satisfaction": Column("satisfaction"),
        "reopenCount": Column("reopen_count"),
        "escalationLevel": Column("escalation_level"),
        "acknowledgedAt": Column("acknowledged_at"),
        "resolvedAt": Column("resolved_at"),
        "closedAt": Column("closed_at"),
        "createdAt": Column("created_at"),
        "updatedAt": Column("updated_at"),
        "version": Column("version"),
        "isOverdue": Computed(("status", "due_at"), overdue),
        "allowedActions": Computed(
            ("status",),
            lambda status: COMPLAINT_WORKFLOW.allowed_actions(ComplaintStatus(status)),
        ),
        "description": Sealed("description"),
        "resolution": Sealed("resolution"),
        "timeline": ChildList("ComplaintTimelineEntry", "complaint_id", ("created_at", "id")),
    },
)
TIMELINE_ENTRY = TypeSource(
    _table(ComplaintEvent),
    {
        "action": Column("action", ComplaintAction),
        "actorKind": Column("actor_kind"),
        "fromStatus": Column("from_status", _nullable(ComplaintStatus)),
        "toStatus": Column("to_status", _nullable(ComplaintStatus)),
        "createdAt": Column("created_at"),
    },
)
# Derived records are no table's rows: their columns name the records' keys.
_RECOMMENDATIONS: Any = table("recommended_offers", *(column(name) for name in RECORD_COLUMNS))
RECOMMENDED_OFFER = TypeSource(
    _RECOMMENDATIONS,
    {
        "offer": Embedded("OfferSummary"),
        "affinity": Column("affinity", shown_affinity),
        "assignmentId": GlobalId("OfferAssignment", "assignment_id"),
    },
)
OFFER_SUMMARY = TypeSource(
    _RECOMMENDATIONS,
    {
        "offerId": GlobalId("Offer", "offer_id"),
        "merchantName": Column("merchant_name"),
        "title": Column("title"),
        "description": Column("description"),
        "category": Column("category"),
        "benefitType": Column("benefit_type"),
        "benefitValue": Column("benefit_value"),
        "startsAt": Column("starts_at"),
        "endsAt": Column("ends_at"),
        "status": Column("status"),
    },
)
TYPES: dict[str, TypeSource] = {
    "Customer": CUSTOMER,
    "Consent": CONSENT,
    "Card": CARD,
    "Tier": TIER,
    "Branch": BRANCH,
    "Interaction": INTERACTION,
    "Complaint": COMPLAINT,
    "ComplaintTimelineEntry": TIMELINE_ENTRY,
    "RecommendedOffer": RECOMMENDED_OFFER,
    "OfferSummary": OFFER_SUMMARY,
}


@dataclass(frozen=True)
class RootList:
    """A root connection: its rows' type, the resolver's own conditions for a caller and
    the filter's values (``filters``: the filter fields planned, equality on the column of
    the same name; any other filter field given sends the request to the compiled
    executor), newest first by (created_at, id) as ``page_with_count`` pages it."""

    type_name: str
    conditions: Callable[[Principal, dict[str, Any]], list[Any]]
    filters: tuple[str, ...] = ()


def filter_values(given: dict[str, Any] | None, planned: tuple[str, ...]) -> dict[str, Any]:
    """A root list's filter fields that are set, each one the plan narrows by (as its
    column stores it); ``Fallback`` when one is set that it does not."""
    values = {}
    for name, value in (given or {}).items():
        if value is None:
            continue
        if name not in planned:
            raise Fallback(f"filter field {name} is not planned")
        values[name] = value.value if isinstance(value, Enum) else value
    return values


ROOT_LISTS: dict[str, RootList] = {
    "customers": RootList(
        "Customer", lambda caller, _: list(filter_conditions(caller, SegmentFilter()))
    ),
    "complaints": RootList(
        "Complaint",
        lambda caller, given: complaint_conditions(caller, ComplaintFilter(**given)),
        ("status", "severity", "category"),
    ),
}

# Roots that resolve to an object of fields only, with no row of their own: planned only as
# the refusals of all the fields selected in them.
NAMESPACES: dict[str, str] = {"analytics": "Analytics"}
