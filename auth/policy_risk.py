"""The field policy rows of the risk domain (joined into the one table in auth/policy.py)."""

from __future__ import annotations

from auth.masking import MaskKind
from auth.policy_rule import C1, C2, FieldRule, rule
from auth.policy_rule import A as _A
from auth.policy_rule import R as _R
from core.identity import Scope

# Who reads a risk alert's figures: risk and its oversight (the row scope limits supervisors
# to their branch), and the customer their own (the app's "was this you?"). Agents and
# marketers see no alerts at all; merchants nothing.
_ALERT_READERS = {
    _R.ADMIN: _A.CLEAR,
    _R.SUPERVISOR: _A.CLEAR,
    _R.RISK_OFFICER: _A.CLEAR,
    _R.AUDITOR: _A.CLEAR,
    _R.CUSTOMER: _A.CLEAR,
}
ALERT_RULES: tuple[FieldRule, ...] = (
    # The amount of the transaction (or refused use) behind the alert; a customer's own.
    rule("RiskAlert", "amount", C1, _ALERT_READERS, scope=Scope.CARDS_READ),
    # The rule's figures: count and window, usual amount, category, currency, card status.
    rule("RiskAlert", "details", C1, _ALERT_READERS, scope=Scope.CARDS_READ),
    # The decision's free text is risk's own: deciders clear, oversight masked, never the
    # customer.
    rule(
        "RiskAlert",
        "resolutionNote",
        C2,
        {
            _R.ADMIN: _A.MASKED,
            _R.SUPERVISOR: _A.CLEAR,
            _R.RISK_OFFICER: _A.CLEAR,
            _R.AUDITOR: _A.MASKED,
        },
        scope=Scope.RISK_READ,
        mask=MaskKind.TEXT,
    ),
)

RISK_RULES: tuple[FieldRule, ...] = (*ALERT_RULES,)
