"""The field policy rows of the risk domain (joined into the one table in auth/policy.py)."""

from __future__ import annotations

from auth.policy_rule import FieldRule

RISK_RULES: tuple[FieldRule, ...] = ()
