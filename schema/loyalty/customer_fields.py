"""What loyalty adds to the Customer type: the customer's points.

``schema.graph`` assembles Customer from these parts and the customers' own; a field here gets
the customer's own part as ``self`` and reads only its ``_row``. The customer reads their own
in the app through ``me { points }``.
"""

from __future__ import annotations

import strawberry

from models.customers.customer import Customer as CustomerRow
from schema.loyalty.points import Points
from schema.policy_field import sensitive_field


@strawberry.type
class CustomerLoyaltyFields:
    """Customer's points, after the offers."""

    _row: strawberry.Private[CustomerRow]

    @sensitive_field("Customer", "points")
    def points(self) -> Points | None:
        return Points(_customer_id=self._row.id)
