"""The configuration of one trusted external OIDC issuer (the bank's identity provider).

Settings carry a list of these (``CARDCRM_OIDC_ISSUERS``, a JSON array); ``auth.oidc``
verifies their tokens and ``auth.external_staff`` turns them into staff principals. The rules
that keep a misconfiguration from becoming a hole are checked here, at start-up:

- only asymmetric signature algorithms: never ``none`` and never HS*, whose "secret" would be
  the issuer's public key;
- an external issuer mints staff principals only: its role mapping cannot name the customer,
  merchant or service roles, which belong to cardcrm's own tokens;
- the JWKS location is configuration, not token content: a token's ``jku``/``x5u`` headers are
  never followed.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from core.identity import STAFF_ROLES, Role

SIGNATURE_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
# Staff usernames are at most 64 characters: `<name>:<sub>` must fit.
USERNAME_MAX_LENGTH = 64

IssuerName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,15}$")]


def _absolute_http_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"{what} must be an absolute https:// URL, not {value!r}")
    return value


class OidcIssuer(BaseModel):
    """One identity provider whose JWTs are accepted for staff, and how its claims map."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Short label: provisioned staff users are named `<name>:<sub>` (e.g. `bank:8f14e45f`).
    name: IssuerName
    # Must equal the token's `iss` exactly.
    issuer: str
    # The token's `aud` must be (or contain) this value: cardcrm's API at the bank's IdP.
    audience: str = Field(min_length=1)
    # Where the issuer publishes its public keys; the only URL ever fetched for it.
    jwks_uri: str
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    # The claim holding the bank's role or group names (a string or a list); a dotted path
    # reaches into nested objects, e.g. `realm_access.roles`.
    role_claim: str = "roles"
    # The bank's value → cardcrm's staff role. When a token carries several mapped values,
    # the first in this mapping's order wins: list the most privileged first.
    roles: dict[str, Role] = Field(min_length=1)
    branch_claim: str = "branch"
    # The bank's branch code → cardcrm's Branch.code; empty means the codes are the same.
    # With a mapping, a code missing from it is refused.
    branch_codes: dict[str, str] = {}
    # Space-separated (or a list); absent from the token means the role's scopes.
    # None ignores the claim: the mapped role's scopes always.
    scope_claim: str | None = "scope"

    @field_validator("issuer", "jwks_uri")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        return _absolute_http_url(value, info.field_name or "the URL")

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = [alg for alg in value if alg not in SIGNATURE_ALGORITHMS]
        if refused or not value:
            raise ValueError(
                f"algorithms may only name {', '.join(sorted(SIGNATURE_ALGORITHMS))}; "
                f"refused: {', '.join(refused) or '(empty list)'}"
            )
        return value

    @field_validator("roles")
    @classmethod
    def _staff_roles_only(cls, value: dict[str, Role]) -> dict[str, Role]:
        refused = sorted({role.value for role in value.values() if role not in STAFF_ROLES})
        if refused:
            raise ValueError(
                f"an external issuer maps to staff roles only; refused: {', '.join(refused)}"
            )
        return value

    @property
    def max_subject_length(self) -> int:
        return USERNAME_MAX_LENGTH - len(self.name) - 1

    def username_for(self, subject: str) -> str:
        return f"{self.name}:{subject}"


def check_issuers(issuers: list[OidcIssuer], *, own_issuer: str, production: bool) -> None:
    """Cross-issuer rules: unique names and URLs, none posing as cardcrm, https in production."""
    names = [issuer.name for issuer in issuers]
    urls = [issuer.issuer for issuer in issuers]
    if len(set(names)) != len(names) or len(set(urls)) != len(urls):
        raise ValueError("each OIDC issuer needs its own `name` and `issuer`")
    if own_issuer in urls:
        raise ValueError(f"{own_issuer} is cardcrm's own issuer (CARDCRM_TOKEN_ISSUER)")
    if production:
        plain = [i.name for i in issuers if urlsplit(i.jwks_uri).scheme != "https"]
        if plain:
            raise ValueError(f"production fetches JWKS over https only; fix: {', '.join(plain)}")
