"""The field policy rows of the events domain (joined into the one table in auth/policy.py).

A webhook subscription's URL is C1: the OAuth client that registered it (a service account)
and admins read it; no other role reaches the subscriptions at all (``events:subscribe``).
"""

from __future__ import annotations

from auth.policy_rule import C1, A, FieldRule, R, rule
from core.identity import Scope

SUBSCRIPTION_READERS = {R.ADMIN: A.CLEAR, R.SERVICE: A.CLEAR}

EVENTS_RULES: tuple[FieldRule, ...] = (
    rule("WebhookSubscription", "url", C1, SUBSCRIPTION_READERS, scope=Scope.EVENTS_SUBSCRIBE),
    rule(
        "WebhookSubscription",
        "lastError",
        C1,
        SUBSCRIPTION_READERS,
        scope=Scope.EVENTS_SUBSCRIBE,
    ),
)
