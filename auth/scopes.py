"""Scopes and roles: what each kind of caller may ever do (SPEC §1).

A token's effective rights are its role's scopes intersected with the scopes it carries, so a
narrowly scoped token can only ever do less than its role.
"""

from __future__ import annotations

from core.identity import Role, Scope

_S = Scope
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.SUPERVISOR: frozenset(
        {
            _S.CUSTOMERS_READ,
            _S.CUSTOMERS_LIST,
            _S.CUSTOMERS_LOOKUP,
            _S.CUSTOMERS_WRITE,
            _S.PII_REVEAL,
            _S.INTERACTIONS_READ,
            _S.INTERACTIONS_WRITE,
            _S.COMPLAINTS_READ,
            _S.COMPLAINTS_WRITE,
            _S.OFFERS_READ,
            _S.ANALYTICS_READ,
            _S.RISK_READ,
            _S.CARDS_READ,
            _S.CARDS_WRITE,
            _S.COLLECTIONS_READ,
            _S.COLLECTIONS_WRITE,
            _S.SEGMENTS_WRITE,
            _S.POINTS_READ,
            _S.TASKS_READ,
            _S.TASKS_WRITE,
            _S.SURVEYS_READ,
            _S.STAFF_STATS_READ,
            _S.CAMPAIGNS_READ,
            _S.STAFF_READ,
            _S.PRIVACY_READ,
            _S.PRIVACY_WRITE,
        }
    ),
    Role.AGENT: frozenset(
        {
            _S.CUSTOMERS_READ,
            _S.CUSTOMERS_LIST,
            _S.CUSTOMERS_LOOKUP,
            _S.CUSTOMERS_WRITE,
            _S.PII_REVEAL,
            _S.INTERACTIONS_READ,
            _S.INTERACTIONS_WRITE,
            _S.COMPLAINTS_READ,
            _S.COMPLAINTS_WRITE,
            _S.OFFERS_READ,
            _S.CARDS_READ,
            _S.CARDS_WRITE,
            _S.COLLECTIONS_READ,
            _S.COLLECTIONS_WRITE,
            _S.POINTS_READ,
            _S.TASKS_READ,
            _S.TASKS_WRITE,
            _S.SURVEYS_READ,
            _S.STAFF_STATS_READ,
        }
    ),
    Role.MARKETER: frozenset(
        {
            _S.CUSTOMERS_READ,
            _S.OFFERS_READ,
            _S.OFFERS_WRITE,
            _S.ANALYTICS_READ,
            _S.SEGMENTS_WRITE,
            _S.POINTS_READ,
            _S.REWARDS_WRITE,
            _S.CAMPAIGNS_READ,
            _S.CAMPAIGNS_WRITE,
        }
    ),
    Role.RISK_OFFICER: frozenset(
        {
            _S.CUSTOMERS_READ,
            _S.CUSTOMERS_LIST,
            _S.RISK_READ,
            _S.RISK_WRITE,
            _S.ANALYTICS_READ,
            _S.CARDS_READ,
            _S.COLLECTIONS_READ,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            _S.CUSTOMERS_READ,
            _S.CUSTOMERS_LIST,
            _S.INTERACTIONS_READ,
            _S.COMPLAINTS_READ,
            _S.OFFERS_READ,
            _S.ANALYTICS_READ,
            _S.RISK_READ,
            _S.AUDIT_READ,
            _S.CARDS_READ,
            _S.COLLECTIONS_READ,
            _S.POINTS_READ,
            _S.TASKS_READ,
            _S.SURVEYS_READ,
            _S.STAFF_STATS_READ,
            _S.CAMPAIGNS_READ,
            _S.PRIVACY_READ,
        }
    ),
    Role.CUSTOMER: frozenset(
        {
            _S.CUSTOMERS_READ,
            _S.CUSTOMERS_LIST,
            _S.INTERACTIONS_READ,
            _S.COMPLAINTS_READ,
            _S.COMPLAINTS_WRITE,
            _S.OFFERS_READ,
            _S.CARDS_READ,
            _S.CARDS_WRITE,
            _S.POINTS_READ,
            _S.REWARDS_REDEEM,
            _S.SURVEYS_READ,
            _S.SURVEYS_ANSWER,
            _S.PRIVACY_READ,
            _S.PRIVACY_WRITE,
        }
    ),
    Role.MERCHANT: frozenset({_S.OFFERS_READ, _S.OFFERS_REDEEM}),
    Role.SERVICE: frozenset({_S.TRANSACTIONS_WRITE, _S.EVENTS_SUBSCRIBE}),
}


def parse_scopes(text: str | None) -> frozenset[Scope]:
    """Parses a space-separated scope string; unknown scope names are an error."""
    names = (text or "").split()
    unknown = [name for name in names if name not in Scope._value2member_map_]
    if unknown:
        raise ValueError(f"unknown scope(s): {' '.join(unknown)}; known: {' '.join(Scope)}")
    return frozenset(Scope(name) for name in names)


def format_scopes(scopes: frozenset[Scope]) -> str:
    return " ".join(sorted(scopes))
