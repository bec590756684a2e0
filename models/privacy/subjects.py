"""Whose data each sealed column holds: the customer a row's C2 values belong to.

Sealing reads this to pick the customer's own key (``models.sealing``); erasure reads it to
find every cell of a customer. A table is either owned by the customer row itself, linked
by its own ``customer_id``, or linked through a parent row that has one. Tables whose sealed
values are no customer's (a webhook's secret) are listed apart; an architecture test checks
that every table with a sealed column is in exactly one of the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, select


@dataclass(frozen=True)
class SubjectPath:
    """How a row of ``table`` names its customer: ``column`` holds the customer's id, or,
    with ``parent`` set, the id of a ``parent`` row whose ``customer_id`` does."""

    column: str
    parent: str | None = None

    def owner(self, table: Table) -> ColumnElement[Any]:
        """The id of the customer a row of ``table`` is about, as SQL (through the parent row
        when the path has one)."""
        if self.parent is None:
            return table.c[self.column]
        parent = table.metadata.tables[self.parent]
        owned = select(parent.c.customer_id).where(parent.c.id == table.c[self.column])
        return owned.scalar_subquery()


SUBJECTS: dict[str, SubjectPath] = {
    "customers": SubjectPath("id"),
    "cards": SubjectPath("customer_id"),
    "card_events": SubjectPath("card_id", parent="cards"),
    "credit_limit_requests": SubjectPath("customer_id"),
    "credit_limit_changes": SubjectPath("card_id", parent="cards"),
    "complaints": SubjectPath("customer_id"),
    "complaint_events": SubjectPath("complaint_id", parent="complaints"),
    "interactions": SubjectPath("customer_id"),
    "offer_assignments": SubjectPath("customer_id"),
    "outbound_messages": SubjectPath("customer_id"),
    "surveys": SubjectPath("customer_id"),
    "risk_alerts": SubjectPath("customer_id"),
    "risk_grade_history": SubjectPath("customer_id"),
    "privacy_requests": SubjectPath("customer_id"),
}

# Sealed, but no customer's data: sealed under the data key itself.
NOT_PERSONAL: frozenset[str] = frozenset({"webhook_subscriptions"})
