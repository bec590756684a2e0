"""Row scoping: which customers a caller can reach at all (SPEC §1).

Staff below admin/auditor/marketer/risk officer see their own branch; a customer sees only
themself; anyone else sees no customer. Everything that reads customers filters through
``customer_scope``, and anything outside it is NOT_FOUND, never FORBIDDEN, so the existence
of a record does not leak.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlmodel import col

from core.identity import Principal, Role, Scope
from models.customers.customer import Customer
from models.service_desk.complaint import Complaint

# What a customer outside ``customer_scope`` gets, from every domain's customer lookups.
CUSTOMER_NOT_FOUND = "no customer with this id is visible to you"


def customer_scope(principal: Principal) -> ColumnElement[bool]:
    return owned_scope(principal, Scope.CUSTOMERS_READ, Customer.id, Customer.branch_id)


def owned_scope(
    principal: Principal, scope: Scope, customer_id: Any, branch_id: Any
) -> ColumnElement[bool]:
    """The rows of a customer's that a caller holding ``scope`` may reach, given the row's
    customer and branch columns: a customer their own, staff their branch's (all-branch
    roles every branch), anyone else none. Every customer-owned row follows this one rule."""
    if not principal.has(scope):
        return false()
    if principal.customer_id is not None:
        return col(customer_id) == principal.customer_id
    if not principal.is_staff:
        return false()
    if principal.sees_all_branches:
        return true()
    if principal.branch_id is None:
        return false()
    return col(branch_id) == principal.branch_id


def complaint_scope(principal: Principal) -> ColumnElement[bool]:
    """Agents: complaints assigned to them and their branch's unassigned ones; supervisors:
    their branch; customers: their own; admin and auditor: all."""
    if not principal.has(Scope.COMPLAINTS_READ):
        return false()
    if principal.customer_id is not None:
        return col(Complaint.customer_id) == principal.customer_id
    if not principal.is_staff:
        return false()
    if principal.role in (Role.ADMIN, Role.AUDITOR):
        return true()
    in_branch = col(Complaint.branch_id) == principal.branch_id
    if principal.role is Role.SUPERVISOR:
        return in_branch
    if principal.role is Role.AGENT:
        unassigned = col(Complaint.assignee_id).is_(None)
        return or_(col(Complaint.assignee_id) == principal.staff_id, and_(in_branch, unassigned))
    return false()
