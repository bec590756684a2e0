"""The vocabulary of the field policy table (auth/policy.py): access levels, data classes,
the rule type and the shorthands its rows are written with.

The rows themselves are in ``auth.policy`` (customers, cards, service desk, growth, merchants)
and in one module per later domain (``auth.policy_risk``, ``auth.policy_collections``), which
``auth.policy`` joins into the one table everything reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from auth.masking import MaskKind
from core.identity import Principal, Role, Scope


class Access(StrEnum):
    CLEAR = "clear"
    MASKED = "masked"
    # Masked more strictly; for a card number: last 4 only, no BIN.
    STRICT_MASKED = "strict_masked"
    # Clear for the record's author (e.g. the agent who wrote a note), masked for others.
    OWN_CLEAR = "own_clear"
    DENIED = "denied"


class DataClass(StrEnum):
    C1 = "C1 internal data"
    C2 = "C2 identifying & account data"


class PiiField(StrEnum):
    """The C2 values that a reveal can return in clear."""

    NAME = "name"
    PHONE = "phone"
    EMAIL = "email"
    ID_NUMBER = "idNumber"
    ADDRESS = "address"
    BIRTH_DATE = "birthDate"
    CUSTOMER_NUMBER = "customerNumber"
    PAN = "pan"


@dataclass(frozen=True)
class FieldRule:
    type_name: str
    field_name: str
    data_class: DataClass
    scope: Scope
    access: MappingProxyType[Role, Access]
    mask: MaskKind | None = None
    revealers: frozenset[Role] = frozenset()
    pii_field: PiiField | None = None
    # A value computed from another C2 value (a card's BIN and last 4 from its PAN) carries
    # its source's row: same class, scope and access, masked as the source's mask shows it.
    derived_from: str | None = None

    def access_for(self, principal: Principal, owner: str | None = None) -> Access:
        """The caller's access; ``owner`` is the subject of the record's author, if any."""
        if self.scope not in principal.scopes:
            return Access.DENIED
        access = self.access.get(principal.role, Access.DENIED)
        if access is Access.OWN_CLEAR:
            return (
                Access.CLEAR if owner is not None and owner == principal.subject else Access.MASKED
            )
        return access

    def may_reveal(self, principal: Principal) -> bool:
        return principal.role in self.revealers and Scope.PII_REVEAL in principal.scopes

    def describe(self) -> str:
        """The sentence printed into the SDL description and the docs."""
        by_access: dict[Access, list[str]] = {}
        for role in Role:
            by_access.setdefault(self.access.get(role, Access.DENIED), []).append(role.value)
        parts = [f"{access.value}: {', '.join(roles)}" for access, roles in by_access.items()]
        text = f"{self.data_class.value}. Needs scope `{self.scope}`. " + "; ".join(parts) + "."
        if self.derived_from:
            text += f" Derived from {self.derived_from}: shown where its display shows it."
        if self.revealers:
            who = ", ".join(sorted(role.value for role in self.revealers))
            text += f" Clear value only through revealCustomerPii ({who}; scope pii:reveal)."
        return text


A, R = Access, Role
STAFF_MASKED = {
    R.ADMIN: A.MASKED,
    R.SUPERVISOR: A.MASKED,
    R.AGENT: A.MASKED,
    R.MARKETER: A.MASKED,
    R.RISK_OFFICER: A.MASKED,
    R.AUDITOR: A.MASKED,
}
PII_REVEALERS = frozenset({R.ADMIN, R.SUPERVISOR})
# Complaint free text: the people handling it and the complainant read it; oversight masked.
HANDLER_ACCESS = {
    R.ADMIN: A.MASKED,
    R.SUPERVISOR: A.CLEAR,
    R.AGENT: A.CLEAR,
    R.AUDITOR: A.MASKED,
    R.CUSTOMER: A.CLEAR,
}
CARD_REASON = {**HANDLER_ACCESS, R.RISK_OFFICER: A.CLEAR}


def rule(
    type_name: str,
    field_name: str,
    data_class: DataClass,
    access: dict[Role, Access],
    *,
    scope: Scope = Scope.CUSTOMERS_READ,
    mask: MaskKind | None = None,
    revealers: frozenset[Role] = frozenset(),
    pii_field: PiiField | None = None,
) -> FieldRule:
    return FieldRule(
        type_name,
        field_name,
        data_class,
        scope,
        MappingProxyType(access),
        mask,
        revealers,
        pii_field,
    )


def derived(source: FieldRule, field_name: str, *, hidden_by: frozenset[Access]) -> FieldRule:
    """A rule for a value kept beside ``source`` and computed from it (a card's BIN and last
    4): the source's row, so a role denied the source is denied this too, and a role whose
    view of the source hides this part (``hidden_by``) is denied it. Where the source's
    display shows it, it is shown as kept, so it needs no mask of its own."""
    access = {
        role: Access.DENIED if level in hidden_by else level
        for role, level in source.access.items()
    }
    return FieldRule(
        source.type_name,
        field_name,
        source.data_class,
        source.scope,
        MappingProxyType(access),
        derived_from=f"{source.type_name}.{source.field_name}",
    )


C1, C2 = DataClass.C1, DataClass.C2
# Who sees a card's money (its bill, standing and spending), within their row scope.
CARD_READERS = (R.ADMIN, R.SUPERVISOR, R.AGENT, R.RISK_OFFICER, R.AUDITOR, R.CUSTOMER)
