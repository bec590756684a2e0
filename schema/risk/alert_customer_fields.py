"""What risk alerts add to the Customer type: the customer's alerts, newest first.

``schema.graph`` assembles Customer from these parts; a field here gets the customer's own
part as ``self`` and reads only its ``_row``. The customer reads their own in the app
(``me { riskAlerts }``) to answer "was this you?" (``confirmTransaction``).
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from core.context import Info
from core.errors import BadUserInput
from core.identity import Scope
from models.customers.customer import Customer as CustomerRow
from resolvers.risk.alert_loaders import AlertsByCustomerLoader
from schema.risk.alert import RiskAlert
from schema.scope_field import scoped_field

ALERTS_SIZE = 10
ALERTS_MAX = 50


@strawberry.type
class CustomerRiskAlertFields:
    """Customer's risk alerts."""

    _row: strawberry.Private[CustomerRow]

    @scoped_field(
        Scope.CARDS_READ,
        f"This customer's fraud and risk alerts, newest first (`first`: 1 to {ALERTS_MAX}, "
        f"default {ALERTS_SIZE}): the customer their own; staff with `risk:read` (risk "
        "officers, admins, auditors; supervisors for their branch). Others get an empty list.",
    )
    async def risk_alerts(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description=f"How many, 1 to {ALERTS_MAX}.")
        ] = ALERTS_SIZE,
    ) -> list[RiskAlert] | None:
        if not 1 <= first <= ALERTS_MAX:
            raise BadUserInput(f"`first` must be between 1 and {ALERTS_MAX}", field="first")
        rows = await info.context.loader(AlertsByCustomerLoader).load((self._row.id, first))
        return [RiskAlert.from_row(row) for row in rows]
