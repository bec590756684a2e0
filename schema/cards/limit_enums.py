"""The descriptions of the credit-limit enums (as ``schema.enums`` describes the others), given
when this module is imported, before the schema is built."""

from __future__ import annotations

from enum import Enum, StrEnum

import strawberry
from strawberry.types.enum import has_enum_definition

from models.cards.limits import LimitChangeKind, LimitRequestStatus, RiskReason
from resolvers.cards.limit_workflow import LIMIT_REQUEST_WORKFLOW, LimitRequestAction


class LimitDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


_MOVE = LIMIT_REQUEST_WORKFLOW.describe
DESCRIPTIONS: dict[type[Enum], tuple[str, dict[str, str]]] = {
    LimitRequestStatus: (
        "Where a credit-limit request stands.",
        {
            "PENDING": "Waiting for a risk officer other than its requester.",
            "APPROVED": "Approved: the card took the new limit.",
            "REJECTED": "Rejected by a risk officer, with a reason.",
            "CANCELLED": "Withdrawn by its requester before a decision.",
        },
    ),
    LimitRequestAction: (
        "A step of the credit-limit request workflow.",
        {
            "APPROVE": f"{_MOVE(LimitRequestAction.APPROVE)}: a risk officer, not the requester.",
            "REJECT": f"{_MOVE(LimitRequestAction.REJECT)}: a risk officer, not the requester.",
            "CANCEL": f"{_MOVE(LimitRequestAction.CANCEL)}: the requester.",
        },
    ),
    LimitDecision: (
        "A risk officer's decision on a pending credit-limit request.",
        {
            "APPROVE": "The card takes the requested limit now.",
            "REJECT": "The limit stays as it is.",
        },
    ),
    LimitChangeKind: (
        "What changed a card's credit limit.",
        {
            "REQUEST_APPROVED": "A request approved by a risk officer.",
            "TEMPORARY_ENDED": "A temporary limit's last day passed (`cardcrm limits revert`): "
            "back to the limit before it, or lower if risk lowered it meanwhile.",
            "RISK_DECREASE": "A risk officer lowered it (`decreaseCreditLimit`), with reasons.",
        },
    ),
    RiskReason: (
        "Why a risk officer lowers a credit limit.",
        {
            "OVERDUE": "Payments are overdue.",
            "HIGH_UTILISATION": "The limit is used up to a high share for long.",
            "CREDIT_SCORE_DROP": "The credit score fell.",
            "RISK_GRADE_WORSENED": "The risk grade worsened.",
            "SUSPECTED_FRAUD": "Fraud is suspected on the card.",
            "INCOME_CHANGE": "The customer's income fell.",
            "EXTERNAL_DEBT": "Debt elsewhere grew (credit bureau).",
        },
    ),
}


def describe_limit_enums() -> None:
    for enum, (description, values) in DESCRIPTIONS.items():
        if not has_enum_definition(enum):
            strawberry.enum(enum)
        definition = enum.__strawberry_definition__  # type: ignore[attr-defined]
        definition.description = definition.description or description
        for value in definition.values:
            value.description = value.description or values.get(value.name)
