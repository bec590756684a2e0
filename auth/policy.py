"""THE field policy table: (type, field, role) → CLEAR | MASKED | STRICT_MASKED | DENIED.

Every sensitive field of the schema is listed here once, with its data class (SPEC §2), the
scope a token needs to see it at all, its masking format, each role's access, and which
roles may reveal its clear value through ``revealCustomerPii``. The schema's field extension
(``schema.policy_field``), the reveal mutation, ``Customer.revealableFields``, the SDL
descriptions and the policy docs all read this table and nothing else.

A role missing from a rule is DENIED: new roles start with nothing. The exact-match lookups
that disclose a C2 value, and who may run them, are ``auth.lookups``.
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


def _rule(
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


def _derived(source: FieldRule, field_name: str, *, hidden_by: frozenset[Access]) -> FieldRule:
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
CARD_ACCOUNT = "balance availableCredit minimumPayment dueDate daysPastDue overdueBucket"
CARD_PAN = _rule(
    "Card",
    "pan",
    C2,
    {
        R.ADMIN: A.MASKED,
        R.SUPERVISOR: A.MASKED,
        R.RISK_OFFICER: A.MASKED,
        R.AGENT: A.STRICT_MASKED,
        R.AUDITOR: A.STRICT_MASKED,
        R.CUSTOMER: A.STRICT_MASKED,
    },
    mask=MaskKind.PAN,
    revealers=PII_REVEALERS,
    pii_field=PiiField.PAN,
)
RULES: tuple[FieldRule, ...] = (
    _rule(
        "Customer",
        "name",
        C2,
        {**STAFF_MASKED, R.CUSTOMER: A.CLEAR},
        mask=MaskKind.NAME,
        revealers=PII_REVEALERS,
        pii_field=PiiField.NAME,
    ),
    _rule(
        "Customer",
        "phone",
        C2,
        {**STAFF_MASKED, R.CUSTOMER: A.CLEAR},
        mask=MaskKind.PHONE,
        revealers=PII_REVEALERS | {R.AGENT},
        pii_field=PiiField.PHONE,
    ),
    _rule(
        "Customer",
        "email",
        C2,
        {**STAFF_MASKED, R.CUSTOMER: A.CLEAR},
        mask=MaskKind.EMAIL,
        revealers=PII_REVEALERS,
        pii_field=PiiField.EMAIL,
    ),
    _rule(
        "Customer",
        "idNumber",
        C2,
        {**STAFF_MASKED, R.MARKETER: A.DENIED, R.CUSTOMER: A.MASKED},
        mask=MaskKind.ID_NUMBER,
        revealers=PII_REVEALERS,
        pii_field=PiiField.ID_NUMBER,
    ),
    _rule(
        "Customer",
        "address",
        C2,
        {**STAFF_MASKED, R.MARKETER: A.DENIED, R.CUSTOMER: A.CLEAR},
        mask=MaskKind.ADDRESS,
        revealers=PII_REVEALERS,
        pii_field=PiiField.ADDRESS,
    ),
    _rule(
        "Customer",
        "birthDate",
        C2,
        {**STAFF_MASKED, R.CUSTOMER: A.CLEAR},
        mask=MaskKind.BIRTH_DATE,
        revealers=PII_REVEALERS,
        pii_field=PiiField.BIRTH_DATE,
    ),
    _rule(
        "Customer",
        "riskGrade",
        C1,
        {R.ADMIN: A.CLEAR, R.SUPERVISOR: A.CLEAR, R.RISK_OFFICER: A.CLEAR, R.AUDITOR: A.CLEAR},
        scope=Scope.RISK_READ,
    ),
    _rule(
        "Customer",
        "creditScore",
        C1,
        {R.ADMIN: A.CLEAR, R.SUPERVISOR: A.CLEAR, R.RISK_OFFICER: A.CLEAR, R.AUDITOR: A.CLEAR},
        scope=Scope.RISK_READ,
    ),
    # The evaluation's internal view of a customer (churn risk, why the stage and tier moved,
    # overriding supervisors' reasons): staff only, never the customer's own app.
    *(
        _rule("Customer", field_name, C1, {role: A.CLEAR for role in STAFF_MASKED})
        for field_name in ("churnRisk", "lifecycleHistory", "tierHistory")
    ),
    CARD_PAN,
    # The BIN shows in a masked PAN (622848******5678), not in a strictly masked one.
    _derived(CARD_PAN, "bin", hidden_by=frozenset({A.STRICT_MASKED})),
    # The last 4 show in every display of the PAN.
    _derived(CARD_PAN, "last4", hidden_by=frozenset()),
    *(
        _rule(
            type_name,
            field_name,
            C2,
            HANDLER_ACCESS,
            scope=Scope.COMPLAINTS_READ,
            mask=MaskKind.TEXT,
        )
        for type_name, field_name in (
            ("Complaint", "description"),
            ("Complaint", "resolution"),
            ("ComplaintTimelineEntry", "note"),
        )
    ),
    # Why a card changed status (history): risk officers investigate lost and stolen cards.
    _rule(
        "CardHistoryEntry", "reason", C2, CARD_REASON, scope=Scope.CARDS_READ, mask=MaskKind.TEXT
    ),
    _rule(
        "Interaction",
        "notes",
        C2,
        {R.ADMIN: A.MASKED, R.SUPERVISOR: A.CLEAR, R.AGENT: A.OWN_CLEAR, R.AUDITOR: A.MASKED},
        scope=Scope.INTERACTIONS_READ,
        mask=MaskKind.TEXT,
    ),
    # A one-time redemption code is the customer's to show at the till: clear to the
    # assignment's owner only. Staff never need it (marketers must not be able to redeem).
    _rule(
        "OfferAssignment",
        "redemptionCode",
        C2,
        {R.CUSTOMER: A.OWN_CLEAR},
        scope=Scope.OFFERS_READ,
        mask=MaskKind.TEXT,
    ),
    # The merchant redeeming a code sees whose it is only as a masked name (张*丰), to match
    # the person at the till; never the clear name, never the customer's id.
    _rule(
        "Redemption",
        "customerName",
        C2,
        {R.MERCHANT: A.MASKED},
        scope=Scope.OFFERS_REDEEM,
        mask=MaskKind.NAME,
    ),
    _rule(
        "Card",
        "creditLimit",
        C1,
        {
            R.ADMIN: A.CLEAR,
            R.SUPERVISOR: A.CLEAR,
            R.AGENT: A.CLEAR,
            R.RISK_OFFICER: A.CLEAR,
            R.AUDITOR: A.CLEAR,
            R.CUSTOMER: A.CLEAR,
        },
    ),
    # A card's bill and standing (schema/cards/statements.py): seen like its credit limit.
    *(
        _rule("Card", name, C1, dict.fromkeys(CARD_READERS, A.CLEAR), scope=Scope.CARDS_READ)
        for name in CARD_ACCOUNT.split()
    ),
    # Spending (issue 14), within the caller's row scope; never marketers or merchants.
    *(
        _rule("Transaction", name, C1, dict.fromkeys(CARD_READERS, A.CLEAR), scope=Scope.CARDS_READ)
        for name in ("amount", "merchantName")
    ),
    # A credit-limit request's and a limit change's free text: the card's people and risk
    # read it, oversight masked; the customer reads the request's, not risk's own note.
    *(
        _rule(
            t,
            f,
            C2,
            {**HANDLER_ACCESS, R.RISK_OFFICER: A.CLEAR, R.CUSTOMER: c},
            scope=Scope.CARDS_READ,
            mask=MaskKind.TEXT,
        )
        for t, f, c in (
            ("CreditLimitRequest", "reason", A.CLEAR),
            ("CreditLimitRequest", "decisionReason", A.CLEAR),
            ("CreditLimitChange", "note", A.MASKED),
        )
    ),
)

POLICY: MappingProxyType[tuple[str, str], FieldRule] = MappingProxyType(
    {(rule.type_name, rule.field_name): rule for rule in RULES}
)
REVEAL_RULES: MappingProxyType[PiiField, FieldRule] = MappingProxyType(
    {rule.pii_field: rule for rule in RULES if rule.pii_field is not None}
)


def rule_for(type_name: str, field_name: str) -> FieldRule:
    return POLICY[(type_name, field_name)]


def revealable_fields(principal: Principal) -> list[PiiField]:
    """The PII fields this caller may reveal (what ``Customer.revealableFields`` lists)."""
    return [pii for pii, rule in REVEAL_RULES.items() if rule.may_reveal(principal)]
