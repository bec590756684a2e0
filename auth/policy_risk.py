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

GRADE_RULES: tuple[FieldRule, ...] = (
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

# Who reads a risk alert's figures: risk and its oversight (the row scope limits supervisors
# to their branch), and the customer their own (the app's "was this you?"). Agents and
# marketers see no alerts at all; merchants nothing.
ALERT_READERS = {
    R.ADMIN: A.CLEAR,
    R.SUPERVISOR: A.CLEAR,
    R.RISK_OFFICER: A.CLEAR,
    R.AUDITOR: A.CLEAR,
    R.CUSTOMER: A.CLEAR,
}
ALERT_RULES: tuple[FieldRule, ...] = (
    # The amount of the transaction (or refused use) behind the alert; a customer's own.
    rule("RiskAlert", "amount", C1, ALERT_READERS, scope=Scope.CARDS_READ),
    # The rule's figures: count and window, usual amount, category, currency, card status.
    rule("RiskAlert", "details", C1, ALERT_READERS, scope=Scope.CARDS_READ),
    # The decision's free text is risk's own: deciders clear, oversight masked, never the
    # customer.
    rule(
        "RiskAlert",
        "resolutionNote",
        C2,
        {
            R.ADMIN: A.MASKED,
            R.SUPERVISOR: A.CLEAR,
            R.RISK_OFFICER: A.CLEAR,
            R.AUDITOR: A.MASKED,
        },
        scope=Scope.RISK_READ,
        mask=MaskKind.TEXT,
    ),
)

RISK_RULES: tuple[FieldRule, ...] = (*GRADE_RULES, *ALERT_RULES)
