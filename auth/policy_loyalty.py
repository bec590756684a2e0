"""The field policy rows of the loyalty domain (joined into the one table in auth/policy.py).

A customer's points are C1: the customer reads their own; staff who serve customers and
oversight read them within their row scope. Marketers get no individual's points (they see
the totals in ``analytics.growth``); merchants, risk officers and service accounts none.
"""

from __future__ import annotations

from auth.policy_rule import C1, A, FieldRule, R, rule
from core.identity import Scope

POINTS_READERS = (R.ADMIN, R.SUPERVISOR, R.AGENT, R.AUDITOR, R.CUSTOMER)

LOYALTY_RULES: tuple[FieldRule, ...] = (
    rule("Customer", "points", C1, dict.fromkeys(POINTS_READERS, A.CLEAR), scope=Scope.POINTS_READ),
)
