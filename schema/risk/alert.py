"""The ``RiskAlert`` type: what a rule raised, on whose card, and how it was decided.

Its customer, card and transaction load through DataLoaders (one query each per page). The
amount and the rule's figures follow the alert's policy rows; the decision's note is C2,
sealed, with a row of its own. The Card and Transaction types are the cards' and
transactions' own (declared ports in pyproject.toml).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry

from core.context import Info
from core.money import yuan
from models.cards.card import CardStatus
from models.risk.alert import AlertRule, AlertSeverity, AlertStatus, CustomerAnswer
from models.risk.alert import RiskAlert as AlertRow
from models.transactions.transaction import MerchantCategory
from resolvers.cards.loaders import CardByIdLoader
from resolvers.customers.loaders import CustomerByIdLoader
from resolvers.risk.alert_loaders import AlertTransactionLoader
from resolvers.risk.alert_workflow import ALERT_WORKFLOW, AlertAction
from schema.cards.card import Card
from schema.customers.customer import CustomerFields, CustomerRef
from schema.described import optional_field
from schema.policy_field import sealed_field, sensitive_field
from schema.relay import to_global_id
from schema.risk.alert_enums import describe_alert_enums
from schema.transactions.types import Transaction

describe_alert_enums()


@strawberry.type(description="The figures behind an alert; each is null where its rule has none.")
class RiskAlertDetails:
    count: int | None = optional_field("VELOCITY: purchases on the card within the window.")
    window_minutes: int | None = optional_field("VELOCITY: the window, in minutes.")
    usual_amount: Decimal | None = optional_field(
        "AMOUNT_SPIKE: the customer's usual purchase (yuan) when it was raised."
    )
    category: MerchantCategory | None = optional_field(
        "UNUSUAL_CATEGORY_HOUR and INACTIVE_CARD_USE: the merchant category."
    )
    currency: str | None = optional_field(
        "FOREIGN_CURRENCY and INACTIVE_CARD_USE: the ISO 4217 currency."
    )
    card_status: CardStatus | None = optional_field(
        "INACTIVE_CARD_USE: the card's status when the use was refused (FROZEN or BLOCKED)."
    )

    @classmethod
    def of(cls, details: dict[str, Any]) -> RiskAlertDetails:
        usual = details.get("usualAmount")
        category = details.get("category")
        status = details.get("cardStatus")
        return cls(
            count=details.get("count"),
            window_minutes=details.get("windowMinutes"),
            usual_amount=yuan(int(usual)) if usual is not None else None,
            category=MerchantCategory(category) if category else None,
            currency=details.get("currency"),
            card_status=CardStatus(status) if status else None,
        )


@strawberry.type(
    description="A fraud or risk alert raised by a rule on imported transactions (风险预警)."
)
class RiskAlert:
    id: strawberry.ID = strawberry.field(description="The alert's global ID.")
    rule: AlertRule = strawberry.field(description="The rule that raised it.")
    severity: AlertSeverity = strawberry.field(description="How urgent it is.")
    status: AlertStatus = strawberry.field(description="Where it stands.")
    occurred_at: datetime | None = strawberry.field(
        description="When the transaction (or refused use) happened (ISO 8601, UTC); null for "
        "an alert not about a transaction (a worsened grade)."
    )
    customer_answer: CustomerAnswer | None = strawberry.field(
        description="The customer's answer in the app (`confirmTransaction`); null before."
    )
    answered_at: datetime | None = strawberry.field(
        description="When the customer answered (ISO 8601, UTC); null before."
    )
    resolved_by: str | None = strawberry.field(
        description="Who decided: the staff member's username, or `customer` when the "
        "customer's answer decided it; null while OPEN or ESCALATED."
    )
    resolved_at: datetime | None = strawberry.field(
        description="When it was decided (ISO 8601, UTC); null while OPEN or ESCALATED."
    )
    created_at: datetime = strawberry.field(description="When it was raised (ISO 8601, UTC).")
    version: int = strawberry.field(
        description="Starts at 1, +1 on every change; `resolveRiskAlert` takes it back "
        "(CONFLICT if it is no longer current)."
    )
    _row: strawberry.Private[AlertRow]

    @sensitive_field("RiskAlert", "amount")
    def amount(self) -> Decimal | None:
        return yuan(self._row.amount_cents) if self._row.amount_cents is not None else None

    @sensitive_field("RiskAlert", "details")
    def details(self) -> RiskAlertDetails | None:
        return RiskAlertDetails.of(self._row.details)

    resolution_note = sealed_field("RiskAlert", "resolutionNote", "resolution_note")

    @strawberry.field(description="The workflow actions allowed in the current status.")
    def allowed_actions(self) -> list[AlertAction]:
        return ALERT_WORKFLOW.allowed_actions(AlertStatus(self._row.status))

    @strawberry.field(description="The customer the alert is about.")
    async def customer(self, info: Info) -> CustomerRef:
        row = await info.context.loader(CustomerByIdLoader).load(self._row.customer_id)
        assert row is not None
        return CustomerFields.from_row(row)

    @strawberry.field(description="The card used; null for an alert not about a card.")
    async def card(self, info: Info) -> Card | None:
        if self._row.card_id is None:
            return None
        row = await info.context.loader(CardByIdLoader).load(self._row.card_id)
        return Card.from_row(row) if row else None

    @strawberry.field(
        description="The booked transaction that raised it (the one that completed the burst, "
        "for VELOCITY); null for a refused use of an inactive card, which was never booked."
    )
    async def transaction(self, info: Info) -> Transaction | None:
        if self._row.transaction_id is None:
            return None
        row = await info.context.loader(AlertTransactionLoader).load(self._row.transaction_id)
        if row is None:
            return None
        card = await info.context.loader(CardByIdLoader).load(row.card_id)
        assert card is not None
        return Transaction.of(row, Card.from_row(card))

    @classmethod
    def from_row(cls, row: AlertRow) -> RiskAlert:
        return cls(
            id=strawberry.ID(to_global_id("RiskAlert", row.id)),
            rule=AlertRule(row.rule),
            severity=AlertSeverity(row.severity),
            status=AlertStatus(row.status),
            occurred_at=row.occurred_at,
            customer_answer=CustomerAnswer(row.customer_answer) if row.customer_answer else None,
            answered_at=row.answered_at,
            resolved_by=row.resolved_by,
            resolved_at=row.resolved_at,
            created_at=row.created_at,
            version=row.version,
            _row=row,
        )
