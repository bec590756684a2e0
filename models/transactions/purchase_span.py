"""Each customer's first and last card purchase: kept, so "active in a range" rarely probes.

An active customer (``resolvers.analytics.sql.ACTIVE_CUSTOMER``) made a purchase in the
range. Deciding that per customer by probing their cards' transactions cost W4 half its time
(issue 17). With the first and last purchase at hand most customers are decided without a
probe: none in range when the last came before it or the first after it; active when the
first or the last falls in it; only a customer whose purchases start before the range and go
on after it needs the probe, which stays exact.

Triggers on ``transactions`` and ``cards`` (migration 0020_purchase_spans) keep these rows in
the writer's own transaction, whatever code writes: a new purchase widens its customer's
span; a purchase changed or removed, or a card given to another customer, makes the span of
each customer concerned be counted again from their transactions. A customer who never made
a purchase has no row.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.columns import timestamp_field


class PurchaseSpan(SQLModel, table=True):
    __tablename__ = "purchase_spans"

    customer_id: uuid.UUID = Field(primary_key=True)
    first_purchase_at: datetime = timestamp_field(nullable=False)
    last_purchase_at: datetime = timestamp_field(nullable=False)
