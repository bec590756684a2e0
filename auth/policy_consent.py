"""The field policy row of consent history (joined into the one table in auth/policy.py).

``Customer.consentHistory`` is C1 (channels, yes/no, where from, when) but says how the
customer wants to be reached, so it goes with serving them: the staff of the customer's
branch who take a consent on the customer's word (agents, supervisors; row scope keeps them
to their branch), auditors and admins. Marketers and risk officers, who reach customers only
through campaigns and grades, do not read it; the customer reads their own through
``myConsents`` (scope ``privacy:read``).
"""

from __future__ import annotations

from auth.policy_rule import C1, A, FieldRule, R, rule

CONSENT_RULES: tuple[FieldRule, ...] = (
    rule(
        "Customer",
        "consentHistory",
        C1,
        {R.ADMIN: A.CLEAR, R.SUPERVISOR: A.CLEAR, R.AGENT: A.CLEAR, R.AUDITOR: A.CLEAR},
    ),
)
