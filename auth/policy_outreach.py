"""The field policy rows of the outreach domain (joined into the one table in auth/policy.py).

A campaign's results are C1 aggregates (counts, rates, the lift): whoever may read campaigns
reads them (marketers who run them, supervisors and auditors who oversee, admins); nobody
else reaches a campaign at all (``campaigns:read``).
"""

from __future__ import annotations

from auth.policy_rule import C1, A, FieldRule, R, rule
from core.identity import Scope

CAMPAIGN_READERS = (R.ADMIN, R.MARKETER, R.SUPERVISOR, R.AUDITOR)

OUTREACH_RULES: tuple[FieldRule, ...] = (
    rule(
        "Campaign",
        "results",
        C1,
        dict.fromkeys(CAMPAIGN_READERS, A.CLEAR),
        scope=Scope.CAMPAIGNS_READ,
    ),
)
