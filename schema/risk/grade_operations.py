"""A risk officer's override of a customer's risk grade and its lifting: thin calls into
``resolvers.risk.grade_override``, answering with the customer."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core import text_limits
from core.context import Context, Info
from core.identity import Scope
from models.customers.customer import Customer as CustomerRow
from models.customers.customer import RiskGrade
from resolvers.risk.grade_override import GradeOverride, change_grade
from schema.common import mutation_payload
from schema.customers.operations import CustomerPayload
from schema.described import described_argument
from schema.relay import uuid_of
from schema.scope_field import scoped_field

ERRORS = (
    " userErrors: NOT_FOUND outside your scope, CONFLICT (stale `version`), FORBIDDEN, "
    "BAD_USER_INPUT."
)
CUSTOMER = "The customer, in your scope (a Customer ID)."
VERSION = "The customer's `version` you read; any other is a CONFLICT."
REASON = (
    f"Why; required, at most {text_limits.NOTES:,} characters; stored encrypted in the "
    "grade's history (`RiskGradeChange.note`)."
)


@strawberry.input(description="The risk grade a risk officer sets on a customer, and why.")
class OverrideRiskGradeInput:
    customer_id: strawberry.ID = strawberry.field(description=CUSTOMER)
    version: int = strawberry.field(description=VERSION)
    grade: RiskGrade = strawberry.field(description="The grade to set and hold.")
    reason: str = strawberry.field(description=REASON)


@strawberry.input(description="Ends a risk grade override, with the reason.")
class LiftRiskGradeOverrideInput:
    customer_id: strawberry.ID = strawberry.field(description=CUSTOMER)
    version: int = strawberry.field(description=VERSION)
    reason: str = strawberry.field(description=REASON)


async def _change(info: Info, make: Any) -> CustomerPayload:
    async def write(session: AsyncSession, ctx: Context) -> CustomerRow:
        return await change_grade(
            session=session,
            ring=ctx.key_ring,
            principal=ctx.principal,
            data=make(),
            audit_event=events_by(ctx),
        )

    return await mutation_payload(info, CustomerPayload, write, CustomerPayload.of)


@strawberry.type
class RiskGradeMutation:
    @scoped_field(
        Scope.RISK_WRITE,
        "Sets a customer's risk grade by hand, with a reason (risk officers; audited), with a "
        "history entry; evaluation then leaves the grade alone (still computing its own into "
        "`riskGradeReasons`) until `liftRiskGradeOverride`." + ERRORS,
        staff_only=True,
    )
    async def override_risk_grade(
        self,
        info: Info,
        input: Annotated[OverrideRiskGradeInput, described_argument("The override.")],
    ) -> CustomerPayload:
        return await _change(
            info,
            lambda: GradeOverride(
                customer_id=uuid_of(input.customer_id, "Customer", field="customerId"),
                version=input.version,
                reason=input.reason,
                grade=RiskGrade(input.grade),
            ),
        )

    @scoped_field(
        Scope.RISK_WRITE,
        "Ends a risk grade override (risk officers; audited): the customer returns to the "
        "grade the last evaluation computed (their current one if never evaluated), with a "
        "history entry; a return to a worse D or E raises a GRADE_WORSENED risk alert; "
        "CONFLICT when no override holds." + ERRORS,
        staff_only=True,
    )
    async def lift_risk_grade_override(
        self,
        info: Info,
        input: Annotated[LiftRiskGradeOverrideInput, described_argument("The lifting.")],
    ) -> CustomerPayload:
        return await _change(
            info,
            lambda: GradeOverride(
                customer_id=uuid_of(input.customer_id, "Customer", field="customerId"),
                version=input.version,
                reason=input.reason,
            ),
        )
