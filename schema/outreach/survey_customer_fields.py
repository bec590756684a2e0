"""What surveys add to the Customer type: the customer's satisfaction surveys.

``schema.graph`` assembles Customer from these parts; a field here gets the customer's own
part as ``self`` and reads only its ``_row``. The customer reads their own through
``me { surveys }``; staff who serve the customer through ``customer(id) { surveys }``.
"""

from __future__ import annotations

import strawberry

from core.context import Info
from core.identity import Scope
from models.customers.customer import Customer as CustomerRow
from resolvers.outreach.survey_queries import SurveysByCustomerLoader
from schema.outreach.survey import Survey
from schema.scope_field import scoped_field


@strawberry.type
class CustomerSurveyFields:
    """Customer's surveys, after the points."""

    _row: strawberry.Private[CustomerRow]

    @scoped_field(
        Scope.SURVEYS_READ,
        "This customer's satisfaction surveys, answered or not, newest first. Marketers see "
        "surveys only as NPS in `analytics.service`.",
    )
    async def surveys(self, info: Info) -> list[Survey] | None:
        rows = await info.context.loader(SurveysByCustomerLoader).load(self._row.id)
        return [Survey.from_row(row) for row in rows]
