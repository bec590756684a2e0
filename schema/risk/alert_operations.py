"""Risk alerts: the queue, a risk officer's decision, and the customer's answer in the app
(each a thin call into ``resolvers.risk.alert_queries`` or ``resolvers.alert_decisions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Scope
from models.risk.alert import AlertRule, AlertSeverity, AlertStatus
from models.risk.alert import RiskAlert as AlertRow
from resolvers import alert_decisions
from resolvers.pagination import PageArgs
from resolvers.risk import alert_queries as queries
from resolvers.risk.alerts import AlertDecision as DecisionData
from schema.common import UserError, mutation_payload, payload_field
from schema.described import described_argument, optional_field
from schema.relay import After, Connection, First, uuid_of
from schema.risk.alert import RiskAlert
from schema.risk.alert_enums import AlertDecision
from schema.scope_field import scoped_field

ERRORS = " userErrors: NOT_FOUND outside your scope, CONFLICT, FORBIDDEN, BAD_USER_INPUT."


def _uuid(value: strawberry.ID | None, type_name: str, field: str) -> Any:
    return uuid_of(value, type_name, field=f"filter.{field}") if value else None


@strawberry.input(description="Narrows the list of risk alerts; the fields combine with AND.")
class RiskAlertFilter:
    status: AlertStatus | None = optional_field("Only alerts in this status.")
    rule: AlertRule | None = optional_field("Only alerts raised by this rule.")
    severity: AlertSeverity | None = optional_field("Only alerts of this severity.")
    branch_id: strawberry.ID | None = optional_field("Only those of this branch (a Branch ID).")
    customer_id: strawberry.ID | None = optional_field(
        "Only those of this customer (a Customer ID)."
    )
    card_id: strawberry.ID | None = optional_field("Only those of this card (a Card ID).")
    raised_from: datetime | None = optional_field(
        "Only alerts raised at or after this instant (ISO 8601 with a UTC offset)."
    )
    raised_to: datetime | None = optional_field(
        "Only alerts raised before this instant; after `raisedFrom` (else BAD_USER_INPUT)."
    )

    def to_filter(self) -> queries.AlertFilter:
        return queries.AlertFilter(
            status=self.status,
            rule=self.rule,
            severity=self.severity,
            branch_id=_uuid(self.branch_id, "Branch", "branchId"),
            customer_id=_uuid(self.customer_id, "Customer", "customerId"),
            card_id=_uuid(self.card_id, "Card", "cardId"),
            raised_from=self.raised_from,
            raised_to=self.raised_to,
        )


@strawberry.input(description="A risk officer's decision on an alert.")
class ResolveRiskAlertInput:
    alert_id: strawberry.ID = strawberry.field(description="The alert (a `RiskAlert.id`).")
    version: int = strawberry.field(
        description="The alert's `version` you last read; CONFLICT if it has changed since."
    )
    decision: AlertDecision = strawberry.field(description="What you decide.")
    note: str | None = optional_field("Why, at most 4,000 characters; stored encrypted.")


@strawberry.input(description='The customer\'s answer to "was this you?".')
class ConfirmTransactionInput:
    alert_id: strawberry.ID = strawberry.field(description="Your alert (a `RiskAlert.id`).")
    it_was_me: bool = strawberry.field(
        description="true: it was you (the alert becomes LEGITIMATE); false: it was not (the "
        "card is frozen and the alert becomes CONFIRMED_FRAUD)."
    )


@strawberry.type(description="The outcome of a risk alert mutation.")
class RiskAlertPayload:
    alert: RiskAlert | None = payload_field("The alert as it is now; null on userErrors.")
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, row: AlertRow) -> RiskAlertPayload:
        return cls(alert=RiskAlert.from_row(row))


@strawberry.type
class RiskAlertQuery:
    @scoped_field(
        Scope.RISK_READ,
        "Fraud and risk alerts, newest first: every branch for risk officers, admins and "
        "auditors; a supervisor's own branch. Agents, marketers, customers and merchants are "
        "refused (customers read their own as `me { riskAlerts }`).",
        staff_only=True,
    )
    async def risk_alerts(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            RiskAlertFilter | None, described_argument("Only the matching ones.")
        ] = None,
    ) -> Connection[RiskAlert] | None:
        page, count = await queries.list_alerts(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            filter=filter.to_filter() if filter else queries.AlertFilter(),
            page=PageArgs(first, after),
        )
        return Connection.build(page, RiskAlert.from_row, count)


@strawberry.type
class RiskAlertMutation:
    @scoped_field(
        Scope.RISK_WRITE,
        "Decides an OPEN or ESCALATED alert: CONFIRMED_FRAUD freezes its card in the same "
        'transaction (with a card history entry "confirmed fraud"; a card already frozen, '
        "blocked or closed stays as it is), LEGITIMATE, FALSE_POSITIVE, or ESCALATED (OPEN "
        "only). Risk officers and admins (supervisors read their branch's alerts but do not "
        "decide them); audited." + ERRORS,
        staff_only=True,
    )
    async def resolve_risk_alert(
        self,
        info: Info,
        input: Annotated[ResolveRiskAlertInput, described_argument("The decision.")],
    ) -> RiskAlertPayload:
        async def write(session: AsyncSession, ctx: Context) -> AlertRow:
            decision = DecisionData(
                alert_id=uuid_of(input.alert_id, "RiskAlert", field="alertId"),
                version=input.version,
                action=input.decision.action,
                note=input.note,
            )
            return await alert_decisions.resolve_alert(
                session=session,
                ring=ctx.key_ring,
                principal=ctx.principal,
                decision=decision,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, RiskAlertPayload, write, RiskAlertPayload.of)

    @scoped_field(
        Scope.CARDS_WRITE,
        'The customer\'s answer in the app to "was this you?" for one of their own alerts, '
        "once (CONFLICT after): yes makes it LEGITIMATE, no freezes the card and makes it "
        "CONFIRMED_FRAUD. Customers only (staff get FORBIDDEN and decide with "
        "resolveRiskAlert); audited." + ERRORS,
    )
    async def confirm_transaction(
        self,
        info: Info,
        input: Annotated[ConfirmTransactionInput, described_argument("Your answer.")],
    ) -> RiskAlertPayload:
        async def write(session: AsyncSession, ctx: Context) -> AlertRow:
            return await alert_decisions.confirm_transaction(
                session=session,
                ring=ctx.key_ring,
                principal=ctx.principal,
                alert_id=uuid_of(input.alert_id, "RiskAlert", field="alertId"),
                it_was_me=input.it_was_me,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, RiskAlertPayload, write, RiskAlertPayload.of)
