"""Row scoping: which customers a caller can reach at all (SPEC §1).

Staff below admin/auditor/marketer/risk officer see their own branch; a customer sees only
themself; anyone else sees no customer. Everything that reads customers filters through
``customer_scope``, and anything outside it is NOT_FOUND, never FORBIDDEN, so the existence
of a record does not leak.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from auth.principal import Principal
from auth.scopes import Scope
from models.customer import Customer


def customer_scope(principal: Principal) -> ColumnElement[bool]:
    if not principal.has(Scope.CUSTOMERS_READ):
        return false()
    if principal.customer_id is not None:
        return Customer.id == principal.customer_id  # type: ignore[return-value]
    if not principal.is_staff:
        return false()
    if principal.sees_all_branches:
        return true()
    if principal.branch_id is None:
        return false()
    return Customer.branch_id == principal.branch_id  # type: ignore[return-value]
