"""The tombstone's rule, for every domain that writes about a customer: an erased customer
(``Customer.erased_at``, issue 16) takes no new data, so a write answers CUSTOMER_ERASED
instead of sealing new personal values on a row whose key is gone."""

from __future__ import annotations

from core.errors import CustomerErased
from models.customers.customer import Customer

ERASED = "the customer was erased; nothing new is recorded about them"


def refuse_erased(customer: Customer, *, field: str | None = None) -> Customer:
    """``customer``, unless they were erased (then CUSTOMER_ERASED)."""
    if customer.erased_at is not None:
        raise CustomerErased(ERASED, field=field)
    return customer
