"""The field policy rows of administration (joined into the one table in auth/policy.py).

A staff account's sign-in state (a lockout, a one-time password pending, when they last
chose a password) is security information about a person: C1, shown to those who manage the
account (admins every branch, supervisors their own, as ``staffAccounts`` scopes them) and
denied to every other role, whatever its scopes.
"""

from __future__ import annotations

from auth.policy_rule import C1, A, FieldRule, R, rule
from core.identity import Scope

MANAGERS = (R.ADMIN, R.SUPERVISOR)

ADMIN_RULES: tuple[FieldRule, ...] = tuple(
    rule("StaffAccount", name, C1, dict.fromkeys(MANAGERS, A.CLEAR), scope=Scope.STAFF_READ)
    for name in ("lockedUntil", "mustChangePassword", "passwordChangedAt")
)
