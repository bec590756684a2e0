"""What the risk grade adds to the Customer type: why evaluation gives the grade, whether a
risk officer's override holds it, and its history (entries through a DataLoader).

``schema.graph`` assembles Customer from these parts; a field here gets the customer's own
part as ``self`` and reads only its ``_row``. The policy rows are in ``auth.policy_risk``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from auth.policy import Access, rule_for
from core.context import Info
from core.errors import BadUserInput, Forbidden
from core.identity import PrincipalKind
from models.customers.customer import Customer as CustomerRow
from models.customers.customer import RiskGrade
from models.risk.grade import RiskGradeChange as RiskGradeChangeRow
from models.risk.grade import RiskGradeReason, RiskGradeSource
from resolvers.organisation.loaders import StaffUserByIdLoader
from resolvers.risk.grade_loaders import (
    RiskGradeHistoryByCustomerLoader,
    RiskReasonsByCustomerLoader,
)
from schema.organisation.organisation import StaffMember
from schema.policy_field import sealed_field, sensitive_field

MAX_HISTORY = 50
_HISTORY = f"The most changes to list, newest first: 1 to {MAX_HISTORY}."


@strawberry.type(description="One change of a customer's risk grade; entries are never edited.")
class RiskGradeChange:
    from_grade: RiskGrade | None = strawberry.field(
        description="The grade before; null: none recorded."
    )
    to_grade: RiskGrade = strawberry.field(description="The grade after.")
    source: RiskGradeSource = strawberry.field(description="What made the change.")
    reasons: list[RiskGradeReason] = strawberry.field(
        description="Evaluation's reasons for the grade (for a lifted override: those of the "
        "computed grade returned to); empty for an override."
    )
    actor_kind: str = strawberry.field(
        description="Who made it: `system` (evaluation) or `staff` (a risk officer)."
    )
    at: datetime = strawberry.field(
        description="When it took effect: the evaluation's as-of instant or the override's "
        "time (ISO 8601, UTC)."
    )
    _row: strawberry.Private[RiskGradeChangeRow]

    note = sealed_field("RiskGradeChange", "note", "note")

    @strawberry.field(description="The risk officer who made it; null for evaluation's changes.")
    async def actor(self, info: Info) -> StaffMember | None:
        if self._row.actor_kind != PrincipalKind.STAFF:
            return None
        try:
            staff_id = uuid.UUID(self._row.actor_id)
        except ValueError:
            return None
        row = await info.context.loader(StaffUserByIdLoader).load(staff_id)
        return StaffMember.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: RiskGradeChangeRow) -> RiskGradeChange:
        return cls(
            from_grade=RiskGrade(row.from_grade) if row.from_grade else None,
            to_grade=RiskGrade(row.to_grade),
            source=RiskGradeSource(row.source),
            reasons=[RiskGradeReason(reason) for reason in row.reasons],
            actor_kind=row.actor_kind,
            at=row.created_at,
            _row=row,
        )


def _require(info: Info, field_name: str) -> None:
    """The policy table's verdict on an async field (the policy extension is sync-only)."""
    if rule_for("Customer", field_name).access_for(info.context.principal) is Access.DENIED:
        raise Forbidden(f"Customer.{field_name} is not visible to this caller")


@strawberry.type
class CustomerRiskGradeFields:
    """Customer's risk grade fields, after ``cards``' part."""

    _row: strawberry.Private[CustomerRow]

    @strawberry.field(
        description=rule_for("Customer", "riskGradeReasons").describe()
        + " Why the last evaluation computed the grade it did (kept while an override holds "
        "the customer's grade); null: never evaluated."
    )
    async def risk_grade_reasons(self, info: Info) -> list[RiskGradeReason] | None:
        _require(info, "riskGradeReasons")
        reasons = await info.context.loader(RiskReasonsByCustomerLoader).load(self._row.id)
        return None if reasons is None else [RiskGradeReason(reason) for reason in reasons]

    @sensitive_field("Customer", "riskGradeOverridden")
    def risk_grade_overridden(self) -> bool | None:
        return self._row.risk_grade_overridden

    @strawberry.field(
        description=rule_for("Customer", "riskGradeHistory").describe() + " Newest first."
    )
    async def risk_grade_history(
        self, info: Info, first: Annotated[int, strawberry.argument(description=_HISTORY)] = 10
    ) -> list[RiskGradeChange] | None:
        _require(info, "riskGradeHistory")
        if not 1 <= first <= MAX_HISTORY:
            raise BadUserInput(f"first must be between 1 and {MAX_HISTORY}", field="first")
        loader = info.context.loader(RiskGradeHistoryByCustomerLoader)
        return [RiskGradeChange.from_row(row) for row in await loader.load((self._row.id, first))]
