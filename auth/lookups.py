"""The exact-match lookups by a C2 value (``customerByPhone``, ``customerByIdNumber``,
``customersByName`` and ``createCustomer``'s duplicate check): who may run each, read from the
policy table's row of the value looked up (``auth.policy``)."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from auth.policy import CARD_PAN, POLICY, Access, FieldRule
from core.identity import Principal, Role, Scope

R = Role


@dataclass(frozen=True)
class LookupRule:
    """An exact-match lookup by a C2 value. Hit or miss, it tells the caller whether the value
    belongs to a customer, so with a masked value in view it is a guessing oracle: it is a
    disclosure of ``source``, allowed to a role only if that role may see the field at least
    masked *and* may have its clear value revealed to it anyway (so the oracle discloses
    nothing the role could not be shown), with the ``customers:lookup`` scope. Every lookup
    is audited and counted against the caller's hourly budget
    (``resolvers.customers.disclosure``)."""

    query_field: str | None  # the root field; None: only ``createCustomer``'s duplicate check
    source: FieldRule
    scope: Scope = Scope.CUSTOMERS_LOOKUP
    # Roles that may look up though they may not reveal, where the lookup also needs a
    # second value they are shown anyway (customersByName: the name plus the last 4 digits
    # of the phone or a card, for the service desk); guessing the hidden part of a masked
    # name stays capped per masked value like every other guess.
    also: frozenset[Role] = frozenset()

    @property
    def field(self) -> str:
        return self.source.field_name

    def lookers(self) -> frozenset[Role]:
        return frozenset(
            role
            for role in self.source.revealers | self.also
            if self.source.access.get(role, Access.DENIED) is not Access.DENIED
        )

    def may_look_up(self, principal: Principal) -> bool:
        return (
            principal.role in self.lookers()
            and self.scope in principal.scopes
            and self.source.access_for(principal) is not Access.DENIED
        )

    def describe(self) -> str:
        """The sentence printed into the lookup field's SDL description and the docs."""
        who = ", ".join(sorted(role.value for role in self.lookers())) or "nobody"
        return (
            f"Exact-match lookup by {self.source.type_name}.{self.source.field_name} ({who}; "
            f"scope {self.scope}). A disclosure: one lookup per request, every lookup (hit or "
            "miss) audited with a reason code and counted against the caller's hourly budget."
        )


LOOKUPS: MappingProxyType[str, LookupRule] = MappingProxyType(
    {
        rule.field: rule
        for rule in (
            LookupRule("customerByPhone", POLICY[("Customer", "phone")]),
            LookupRule("customerByIdNumber", POLICY[("Customer", "idNumber")]),
            LookupRule("customersByName", POLICY[("Customer", "name")], also=frozenset({R.AGENT})),
            LookupRule(None, CARD_PAN),
            LookupRule(None, POLICY[("Customer", "customerNumber")]),
        )
    }
)
# Root fields that run at least one lookup: one of them per request (api.admission.lookup_limit).
LOOKUP_FIELDS = frozenset(
    {*(rule.query_field for rule in LOOKUPS.values() if rule.query_field), "createCustomer"}
)


def lookup_rule(field: str) -> LookupRule:
    return LOOKUPS[field]
