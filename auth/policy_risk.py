"""The field policy rows of the risk domain (joined into the one table in auth/policy.py)."""

from __future__ import annotations

from auth.masking import MaskKind
from auth.policy_rule import C1, C2, A, FieldRule, R, rule
from core.identity import Scope

# The risk grade's companions are seen like ``Customer.riskGrade`` (auth/policy.py): risk and
# oversight, within their row scope; never agents, marketers, the customer or merchants.
RISK_GRADE_READERS = {
    R.ADMIN: A.CLEAR,
    R.SUPERVISOR: A.CLEAR,
    R.RISK_OFFICER: A.CLEAR,
    R.AUDITOR: A.CLEAR,
}

RISK_RULES: tuple[FieldRule, ...] = (
    *(
        rule("Customer", field_name, C1, RISK_GRADE_READERS, scope=Scope.RISK_READ)
        for field_name in ("riskGradeReasons", "riskGradeOverridden", "riskGradeHistory")
    ),
    # A risk officer's written reason for an override or its lifting: risk reads it, the
    # oversight roles that see the grade see it masked.
    rule(
        "RiskGradeChange",
        "note",
        C2,
        {
            R.ADMIN: A.MASKED,
            R.SUPERVISOR: A.MASKED,
            R.RISK_OFFICER: A.CLEAR,
            R.AUDITOR: A.MASKED,
        },
        scope=Scope.RISK_READ,
        mask=MaskKind.TEXT,
    ),
)
