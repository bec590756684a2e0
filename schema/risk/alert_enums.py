"""The descriptions of the risk alert enums (as ``schema.enums`` describes the others), given
when this module is imported, before the schema is built."""

from __future__ import annotations

from enum import Enum, StrEnum

import strawberry
from strawberry.types.enum import has_enum_definition

from models.risk.alert import AlertRule, AlertSeverity, AlertStatus, CustomerAnswer
from resolvers.risk.alert_workflow import ALERT_WORKFLOW, AlertAction


class AlertDecision(StrEnum):
    """What a risk officer decides about an alert (``resolveRiskAlert``)."""

    CONFIRMED_FRAUD = "confirmed_fraud"
    LEGITIMATE = "legitimate"
    FALSE_POSITIVE = "false_positive"
    ESCALATED = "escalated"

    @property
    def action(self) -> AlertAction:
        return {
            AlertDecision.CONFIRMED_FRAUD: AlertAction.CONFIRM_FRAUD,
            AlertDecision.LEGITIMATE: AlertAction.MARK_LEGITIMATE,
            AlertDecision.FALSE_POSITIVE: AlertAction.MARK_FALSE_POSITIVE,
            AlertDecision.ESCALATED: AlertAction.ESCALATE,
        }[self]


_MOVE = ALERT_WORKFLOW.describe
DESCRIPTIONS: dict[type[Enum], tuple[str, dict[str, str]]] = {
    AlertRule: (
        "The rule that raised a risk alert (thresholds: CARDCRM_RISK_* settings).",
        {
            "VELOCITY": "Many purchases on one card within minutes (default 5 in 10); one "
            "alert per burst.",
            "AMOUNT_SPIKE": "A purchase far above the customer's usual one (default 5×, from "
            "their last evaluation) and above a floor.",
            "UNUSUAL_CATEGORY_HOUR": "A purchase in a category the customer never used, at an "
            "unusual local hour (default 00:00–05:00).",
            "FOREIGN_CURRENCY": "The customer's first purchase in a foreign currency.",
            "INACTIVE_CARD_USE": "A transaction refused because the card is frozen or blocked.",
            "GRADE_WORSENED": "The customer's risk grade worsened to D or E.",
        },
    ),
    AlertSeverity: (
        "How urgent a risk alert is.",
        {
            "LOW": "Worth a look (a new category at night, a first foreign currency).",
            "MEDIUM": "Look soon (an amount spike, use of a frozen card).",
            "HIGH": "Look now (a velocity burst, use of a blocked card).",
        },
    ),
    AlertStatus: (
        "Where a risk alert stands.",
        {
            "OPEN": "Raised; nobody has decided yet.",
            "CONFIRMED_FRAUD": "Fraud: the card was frozen (if it was active).",
            "LEGITIMATE": "The customer's own doing (decided by risk, or answered in the app).",
            "FALSE_POSITIVE": "The rule misfired.",
            "ESCALATED": "Handed up for a decision later.",
        },
    ),
    CustomerAnswer: (
        'The customer\'s answer in the app to "was this you?".',
        {
            "CONFIRMED": "It was me: the alert became LEGITIMATE.",
            "DENIED": "It was not me: the alert became CONFIRMED_FRAUD and the card was frozen.",
        },
    ),
    AlertAction: (
        "A step of the risk alert workflow.",
        {
            "CONFIRM_FRAUD": f"{_MOVE(AlertAction.CONFIRM_FRAUD)}: freezes the card.",
            "MARK_LEGITIMATE": f"{_MOVE(AlertAction.MARK_LEGITIMATE)}.",
            "MARK_FALSE_POSITIVE": f"{_MOVE(AlertAction.MARK_FALSE_POSITIVE)}.",
            "ESCALATE": f"{_MOVE(AlertAction.ESCALATE)}.",
        },
    ),
    AlertDecision: (
        "A risk officer's decision on an alert.",
        {
            "CONFIRMED_FRAUD": "Fraud: the alert's card is frozen in the same transaction "
            "(left as it is if already frozen, blocked or closed), with a history entry.",
            "LEGITIMATE": "The customer's own doing.",
            "FALSE_POSITIVE": "The rule misfired.",
            "ESCALATED": "Not decided now: handed up (OPEN alerts only).",
        },
    ),
}


def describe_alert_enums() -> None:
    for enum, (description, values) in DESCRIPTIONS.items():
        if not has_enum_definition(enum):
            strawberry.enum(enum)
        definition = enum.__strawberry_definition__  # type: ignore[attr-defined]
        definition.description = definition.description or description
        for value in definition.values:
            value.description = value.description or values.get(value.name)
