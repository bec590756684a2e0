"""The field policy rows of satisfaction surveys (joined into the one table in auth/policy.py).

A survey's score is C1 and goes with the list (``Customer.surveys``, scope ``surveys:read``,
which marketers, risk officers and merchants do not hold: marketers see NPS only as the
aggregates of ``analytics.service``). The comment is the customer's free text, C2 like an
interaction's notes: clear for the supervisors who follow service up, for admins and auditors
in their scope and for the customer who wrote it; masked for agents, whose own service it
may be about (they read the score, not who said what in detail).
"""

from __future__ import annotations

from auth.masking import MaskKind
from auth.policy_rule import C2, A, FieldRule, R, rule
from core.identity import Scope

SURVEY_RULES: tuple[FieldRule, ...] = (
    rule(
        "Survey",
        "comment",
        C2,
        {
            R.ADMIN: A.CLEAR,
            R.SUPERVISOR: A.CLEAR,
            R.AUDITOR: A.CLEAR,
            R.AGENT: A.MASKED,
            R.CUSTOMER: A.CLEAR,
        },
        scope=Scope.SURVEYS_READ,
        mask=MaskKind.TEXT,
    ),
)
