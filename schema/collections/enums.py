"""The descriptions of the collections enums (as ``schema.enums`` describes the others), given
when this module is imported, before the schema is built."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types.enum import has_enum_definition

from models.collections.case import CollectionCloseReason, CollectionStatus, ContactOutcome
from models.collections.reminder import ReminderStatus

DESCRIPTIONS: dict[type[Enum], tuple[str, dict[str, str]]] = {
    CollectionStatus: (
        "Where a collection case stands.",
        {
            "OPEN": "Needs a collector's attention: new, or a promise to pay was broken.",
            "PROMISED": "The customer promised to pay by a date; waiting for it.",
            "CLOSED": "Closed: the card is current again, or closed (see `closeReason`).",
        },
    ),
    CollectionCloseReason: (
        "Why a collection case closed.",
        {
            "CURED": "The card is current again (repaid what was overdue).",
            "CARD_CLOSED": "The card was closed.",
            "WRITTEN_OFF": "The debt was written off.",
        },
    ),
    ContactOutcome: (
        "What a collection contact came to.",
        {
            "REACHED": "The customer was reached.",
            "PROMISE_TO_PAY": "The customer promised to pay an amount by a date.",
            "REFUSED": "The customer refused to pay.",
            "WRONG_NUMBER": "The number does not reach the customer.",
            "NO_ANSWER": "Nobody answered.",
        },
    ),
    ReminderStatus: (
        "Where a repayment reminder stands.",
        {
            "PLANNED": "Planned for its day.",
            "SENT": "Sent to the customer.",
            "CANCELLED": "Cancelled: the minimum payment was paid before it went out.",
        },
    ),
}


def describe_collection_enums() -> None:
    for enum, (description, values) in DESCRIPTIONS.items():
        if not has_enum_definition(enum):
            strawberry.enum(enum)
        definition = enum.__strawberry_definition__  # type: ignore[attr-defined]
        definition.description = definition.description or description
        for value in definition.values:
            value.description = value.description or values.get(value.name)
