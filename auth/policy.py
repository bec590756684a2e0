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

from types import MappingProxyType

from auth.masking import MaskKind
from auth.policy_admin import ADMIN_RULES
from auth.policy_collections import COLLECTION_RULES
from auth.policy_consent import CONSENT_RULES
from auth.policy_events import EVENTS_RULES
from auth.policy_loyalty import LOYALTY_RULES
from auth.policy_outreach import OUTREACH_RULES
from auth.policy_outreach_surveys import SURVEY_RULES
from auth.policy_risk import RISK_RULES
from auth.policy_rule import (
    C1,
    C2,
    CARD_READERS,
    CARD_REASON,
    HANDLER_ACCESS,
    PII_REVEALERS,
    STAFF_MASKED,
    A,
    Access,
    DataClass,
    FieldRule,
    PiiField,
    R,
    derived,
    rule,
)
from auth.policy_tasks import TASK_RULES
from core.identity import Principal, Scope

__all__ = ["POLICY", "REVEAL_RULES", "RULES", "Access", "DataClass", "FieldRule", "PiiField"]

CARD_ACCOUNT = "balance availableCredit minimumPayment dueDate daysPastDue overdueBucket"
CARD_PAN = rule(
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
    rule(
        "Customer",
        "name",
        C2,
        {**STAFF_MASKED, R.CUSTOMER: A.CLEAR},
        mask=MaskKind.NAME,
        revealers=PII_REVEALERS,
        pii_field=PiiField.NAME,
    ),
    rule(
        "Customer",
        "phone",
        C2,
        {**STAFF_MASKED, R.CUSTOMER: A.CLEAR},
        mask=MaskKind.PHONE,
        revealers=PII_REVEALERS | {R.AGENT},
        pii_field=PiiField.PHONE,
    ),
    rule(
        "Customer",
        "email",
        C2,
        {**STAFF_MASKED, R.CUSTOMER: A.CLEAR},
        mask=MaskKind.EMAIL,
        revealers=PII_REVEALERS,
        pii_field=PiiField.EMAIL,
    ),
    rule(
        "Customer",
        "idNumber",
        C2,
        {**STAFF_MASKED, R.MARKETER: A.DENIED, R.CUSTOMER: A.MASKED},
        mask=MaskKind.ID_NUMBER,
        revealers=PII_REVEALERS,
        pii_field=PiiField.ID_NUMBER,
    ),
    rule(
        "Customer",
        "address",
        C2,
        {**STAFF_MASKED, R.MARKETER: A.DENIED, R.CUSTOMER: A.CLEAR},
        mask=MaskKind.ADDRESS,
        revealers=PII_REVEALERS,
        pii_field=PiiField.ADDRESS,
    ),
    rule(
        "Customer",
        "birthDate",
        C2,
        {**STAFF_MASKED, R.CUSTOMER: A.CLEAR},
        mask=MaskKind.BIRTH_DATE,
        revealers=PII_REVEALERS,
        pii_field=PiiField.BIRTH_DATE,
    ),
    # The bank's own customer number identifies the person like the national ID does (it
    # links to every other system of the bank), so it is C2 and sealed; the customer reads
    # their own in clear, as printed on their statements.
    rule(
        "Customer",
        "customerNumber",
        C2,
        {**STAFF_MASKED, R.MARKETER: A.DENIED, R.CUSTOMER: A.CLEAR},
        mask=MaskKind.CUSTOMER_NUMBER,
        revealers=PII_REVEALERS,
        pii_field=PiiField.CUSTOMER_NUMBER,
    ),
    rule(
        "Customer",
        "riskGrade",
        C1,
        {R.ADMIN: A.CLEAR, R.SUPERVISOR: A.CLEAR, R.RISK_OFFICER: A.CLEAR, R.AUDITOR: A.CLEAR},
        scope=Scope.RISK_READ,
    ),
    rule(
        "Customer",
        "creditScore",
        C1,
        {R.ADMIN: A.CLEAR, R.SUPERVISOR: A.CLEAR, R.RISK_OFFICER: A.CLEAR, R.AUDITOR: A.CLEAR},
        scope=Scope.RISK_READ,
    ),
    # The evaluation's internal view of a customer (churn risk, why the stage and tier moved,
    # overriding supervisors' reasons): staff only, never the customer's own app.
    *(
        rule("Customer", field_name, C1, {role: A.CLEAR for role in STAFF_MASKED})
        for field_name in ("churnRisk", "lifecycleHistory", "tierHistory")
    ),
    CARD_PAN,
    # The BIN shows in a masked PAN (622848******5678), not in a strictly masked one.
    derived(CARD_PAN, "bin", hidden_by=frozenset({A.STRICT_MASKED})),
    # The last 4 show in every display of the PAN.
    derived(CARD_PAN, "last4", hidden_by=frozenset()),
    *(
        rule(
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
    rule("CardHistoryEntry", "reason", C2, CARD_REASON, scope=Scope.CARDS_READ, mask=MaskKind.TEXT),
    rule(
        "Interaction",
        "notes",
        C2,
        {R.ADMIN: A.MASKED, R.SUPERVISOR: A.CLEAR, R.AGENT: A.OWN_CLEAR, R.AUDITOR: A.MASKED},
        scope=Scope.INTERACTIONS_READ,
        mask=MaskKind.TEXT,
    ),
    # A one-time redemption code is the customer's to show at the till: clear to the
    # assignment's owner only. Staff never need it (marketers must not be able to redeem).
    rule(
        "OfferAssignment",
        "redemptionCode",
        C2,
        {R.CUSTOMER: A.OWN_CLEAR},
        scope=Scope.OFFERS_READ,
        mask=MaskKind.TEXT,
    ),
    # The merchant redeeming a code sees whose it is only as a masked name (张*丰), to match
    # the person at the till; never the clear name, never the customer's id.
    rule(
        "Redemption",
        "customerName",
        C2,
        {R.MERCHANT: A.MASKED},
        scope=Scope.OFFERS_REDEEM,
        mask=MaskKind.NAME,
    ),
    rule(
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
        rule("Card", name, C1, dict.fromkeys(CARD_READERS, A.CLEAR), scope=Scope.CARDS_READ)
        for name in CARD_ACCOUNT.split()
    ),
    # Spending (issue 14), within the caller's row scope; never marketers or merchants.
    *(
        rule("Transaction", name, C1, dict.fromkeys(CARD_READERS, A.CLEAR), scope=Scope.CARDS_READ)
        for name in ("amount", "merchantName")
    ),
    # A credit-limit request's and a limit change's free text: the card's people and risk
    # read it, oversight masked; the customer reads the request's, not risk's own note.
    *(
        rule(
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
    *RISK_RULES,
    *COLLECTION_RULES,
    *LOYALTY_RULES,
    *TASK_RULES,
    *SURVEY_RULES,
    *OUTREACH_RULES,
    *EVENTS_RULES,
    *ADMIN_RULES,
    *CONSENT_RULES,
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
