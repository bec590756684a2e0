"""Who is calling, in the vocabulary every layer shares: scopes, roles and the Principal.

The vocabulary lives on the floor because the request context carries a principal; what each
role may do with it (the grants) is auth's policy: ``auth.scopes`` and ``auth.policy``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from core.errors import Forbidden


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
    # belongs to a customer: audited and budgeted (resolvers/customers/disclosure.py,
    # auth.lookups.LOOKUPS).
    CUSTOMERS_LOOKUP = "customers:lookup"
    # The `customers` connection: a list of people. Marketers have none, so a list cannot
    # undo analytics' small-group suppression (resolvers/suppression.py).
    CUSTOMERS_LIST = "customers:list"
    # Card servicing (issue 14): reading a card's state, bills and spending, and acting on it
    # (activate, freeze, report lost, request a limit). Limit and alert decisions are risk:write.
    CARDS_READ = "cards:read"
    CARDS_WRITE = "cards:write"
    # Collections (issue 14): the collection queue and its cases (read), assigning them and
    # logging collection contacts (write). Staff only.
    COLLECTIONS_READ = "collections:read"
    COLLECTIONS_WRITE = "collections:write"
    # Saved segments (named customer filters that offers and campaigns target): marketers,
    # supervisors and admins save, change and delete them.
    SEGMENTS_WRITE = "segments:write"
    # Points and rewards (issue 15): reading a customer's points and the rewards catalogue,
    # managing the catalogue (marketers), redeeming a reward (the customer in the app).
    POINTS_READ = "points:read"
    REWARDS_WRITE = "rewards:write"
    REWARDS_REDEEM = "rewards:redeem"
    # Staff tasks (issue 15): reading the task queue (an agent their own, a supervisor their
    # branch's), completing and reassigning tasks. Staff only.
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    # Surveys and service stars (issue 15): reading a customer's satisfaction surveys (staff
    # who serve them, the customer their own), answering one (the customer in the app), and
    # the per-agent figures of `analytics.staff` (agents their own row, supervisors their
    # branch's agents, admins and auditors all).
    SURVEYS_READ = "surveys:read"
    SURVEYS_ANSWER = "surveys:answer"
    STAFF_STATS_READ = "staff_stats:read"
    # Campaigns (issue 15): reading campaigns and their results (marketers, supervisors,
    # auditors, admins), and creating, changing, cancelling and launching them (marketers,
    # admins).
    CAMPAIGNS_READ = "campaigns:read"
    CAMPAIGNS_WRITE = "campaigns:write"
    # Events out (issue 16): an OAuth client registers webhook subscriptions for the outbox's
    # events (service accounts; admins see and manage every subscription).
    EVENTS_SUBSCRIBE = "events:subscribe"
    # Administration (issue 16): the branches and the staff accounts with their sign-in state
    # (admins every branch, supervisors their own). Changing them is ``admin``, admins only.
    STAFF_READ = "staff:read"
    # Privacy rights (issue 16): the customer reads their consents with history and their
    # privacy requests, and changes consent or asks for an export or erasure (write);
    # supervisors read their branch's erasure requests and approve or reject them.
    PRIVACY_READ = "privacy:read"
    PRIVACY_WRITE = "privacy:write"


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


class PrincipalKind(StrEnum):
    STAFF = "staff"
    CUSTOMER = "customer"
    MERCHANT = "merchant"
    SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    subject: str
    role: Role
    scopes: frozenset[Scope]
    client_id: str
    token_id: str
    expires_at: int
    branch_id: uuid.UUID | None = None
    username: str | None = None
    # The partner merchant a merchant client's token speaks for.
    merchant_id: uuid.UUID | None = None
    # The sign-in (refresh-token family) a console token belongs to: revoked with it.
    session_id: uuid.UUID | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def customer_id(self) -> uuid.UUID | None:
        return uuid.UUID(self.subject) if self.kind is PrincipalKind.CUSTOMER else None

    @property
    def staff_id(self) -> uuid.UUID | None:
        return uuid.UUID(self.subject) if self.kind is PrincipalKind.STAFF else None

    @property
    def is_oauth_client(self) -> bool:
        """Merchant and service tokens come from ``/oauth/token``; revocation applies to them."""
        return self.kind in (PrincipalKind.MERCHANT, PrincipalKind.SERVICE)

    @property
    def sees_all_branches(self) -> bool:
        return self.role in ALL_BRANCH_ROLES

    @property
    def audit_actor(self) -> str:
        return f"{self.kind}:{self.subject}"

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this operation needs the `{scope}` scope, which the token lacks")

    def require_staff(self) -> None:
        if not self.is_staff:
            raise Forbidden("this operation is for staff users")
