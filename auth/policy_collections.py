"""The field policy rows of the collections domain (joined into the one table in auth/policy.py).

The collection queue is staff-only: marketers, customers and merchants are denied every row
(and hold no ``collections:read``). What a card owes and what was promised are seen clear by
the people who work or oversee the queue; a contact's notes (C2, sealed on the interaction)
clear to the collectors (supervisors, agents), masked to oversight (admin, risk, audit).
"""

from __future__ import annotations

from auth.masking import MaskKind
from auth.policy_rule import C1, C2, A, FieldRule, R, rule
from core.identity import Scope

# Who sees the queue's amounts, within their row scope (their branch, or all).
COLLECTION_READERS = (R.ADMIN, R.SUPERVISOR, R.AGENT, R.RISK_OFFICER, R.AUDITOR)
NOTE_ACCESS = {
    R.ADMIN: A.MASKED,
    R.SUPERVISOR: A.CLEAR,
    R.AGENT: A.CLEAR,
    R.RISK_OFFICER: A.MASKED,
    R.AUDITOR: A.MASKED,
}

COLLECTION_RULES: tuple[FieldRule, ...] = (
    *(
        rule(
            type_name,
            field_name,
            C1,
            dict.fromkeys(COLLECTION_READERS, A.CLEAR),
            scope=Scope.COLLECTIONS_READ,
        )
        for type_name, field_name in (
            ("CollectionCase", "overdueAmount"),
            ("CollectionCase", "promiseAmount"),
            ("CollectionContact", "promiseAmount"),
            ("RepaymentReminder", "minimumPayment"),
        )
    ),
    rule(
        "CollectionContact",
        "notes",
        C2,
        NOTE_ACCESS,
        scope=Scope.COLLECTIONS_READ,
        mask=MaskKind.TEXT,
    ),
)
