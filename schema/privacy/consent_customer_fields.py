"""What privacy adds to the Customer type: the customer's consent history.

``schema.graph`` assembles Customer from these parts; a field here gets the customer's own
part as ``self`` and reads only its ``_row``. Staff who serve the customer read it through
``customer(id) { consentHistory }`` (its policy row, ``auth.policy_consent``); the customer
reads their own through ``myConsents``.
"""

from __future__ import annotations

import strawberry

from auth.policy import Access, rule_for
from core.context import Info
from core.errors import Forbidden
from models.customers.customer import Customer as CustomerRow
from schema.privacy.consent import ConsentChange, HistoryArg, consent_history


@strawberry.type
class CustomerConsentFields:
    """Customer's consent history, after the surveys."""

    _row: strawberry.Private[CustomerRow]

    @strawberry.field(
        description=rule_for("Customer", "consentHistory").describe()
        + " Every change of a marketing consent (channel, given or withdrawn, where from, "
        "when), newest first; loaded for a page of customers at once."
    )
    async def consent_history(
        self, info: Info, first: HistoryArg = 10
    ) -> list[ConsentChange] | None:
        # The policy table's verdict, here because the policy extension is sync-only (as
        # schema/growth/customer_fields.py does for the evaluation histories).
        if rule_for("Customer", "consentHistory").access_for(info.context.principal) is (
            Access.DENIED
        ):
            raise Forbidden("Customer.consentHistory is not visible to this caller")
        return await consent_history(info, self._row.id, first)
