"""Who is calling: the verified identity every resolver and policy check reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from api.errors import Forbidden
from auth.scopes import ALL_BRANCH_ROLES, STAFF_ROLES, Role, Scope


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
