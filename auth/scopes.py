"""Scopes and roles: what each kind of caller may ever do (SPEC §1).

A token's effective rights are its role's scopes intersected with the scopes it carries, so a
narrowly scoped token can only ever do less than its role.
"""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    PII_REVEAL = "pii:reveal"
    INTERACTIONS_READ = "interactions:read"
    INTERACTIONS_WRITE = "interactions:write"
    COMPLAINTS_READ = "complaints:read"
    COMPLAINTS_WRITE = "complaints:write"
    OFFERS_READ = "offers:read"
    OFFERS_WRITE = "offers:write"
    OFFERS_REDEEM = "offers:redeem"
    ANALYTICS_READ = "analytics:read"
    RISK_READ = "risk:read"
    RISK_WRITE = "risk:write"
    AUDIT_READ = "audit:read"
    ADMIN = "admin"
    # Not in SPEC §1's list: bulk transaction ingest by a service account's batch job.
    TRANSACTIONS_WRITE = "transactions:write"
    # An exact-match lookup (customerByPhone, customerByIdNumber) discloses whether a value
    # belongs to a customer: audited and budgeted (resolvers/lookup.py, auth.policy.LOOKUPS).
    CUSTOMERS_LOOKUP = "customers:lookup"
    # The `customers` connection: a list of people. Marketers have none, so a list cannot
    # undo analytics' small-group suppression (resolvers/suppression.py).
    CUSTOMERS_LIST = "customers:list"


class Role(StrEnum):
    """Staff roles, plus the non-staff principals that reach the API."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    MARKETER = "marketer"
    RISK_OFFICER = "risk_officer"
    AUDITOR = "auditor"
    CUSTOMER = "customer"
    MERCHANT = "merchant"
    # A batch job's OAuth client (client credentials), e.g. the transaction feed.
    SERVICE = "service"


STAFF_ROLES = frozenset(
    {Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.MARKETER, Role.RISK_OFFICER, Role.AUDITOR}
)

# Staff below these see only their own branch's customers.
ALL_BRANCH_ROLES = frozenset({Role.ADMIN, Role.AUDITOR, Role.MARKETER, Role.RISK_OFFICER})

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
        }
    ),
    Role.MARKETER: frozenset(
        {
            _S.CUSTOMERS_READ,
            _S.OFFERS_READ,
            _S.OFFERS_WRITE,
            _S.ANALYTICS_READ,
        }
    ),
    Role.RISK_OFFICER: frozenset(
        {
            _S.CUSTOMERS_READ,
            _S.CUSTOMERS_LIST,
            _S.RISK_READ,
            _S.RISK_WRITE,
            _S.ANALYTICS_READ,
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
        }
    ),
    Role.MERCHANT: frozenset({_S.OFFERS_READ, _S.OFFERS_REDEEM}),
    Role.SERVICE: frozenset({_S.TRANSACTIONS_WRITE}),
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
