"""What erasure adds to the Customer type: when the customer was erased (issue 16).

An erased customer is a tombstone: every personal field reads null, the figures stay.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from core.context import Info
from core.identity import Scope
from models.customers.customer import Customer as CustomerRow
from schema.scope_field import scoped_field


@strawberry.type
class CustomerErasureFields:
    """Customer's tombstone marker, last."""

    _row: strawberry.Private[CustomerRow]

    @scoped_field(
        Scope.CUSTOMERS_READ,
        "When the customer was erased (their personal fields read null since); null: not erased.",
        staff_only=True,
    )
    def erased_at(self, info: Info) -> datetime | None:
        return self._row.erased_at
