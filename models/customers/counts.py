"""How many customers each (branch, tier, lifecycle stage) has: kept, not counted per request.

The growth KPIs show the customer base by tier and by stage, per branch or in all; counting
``customers`` for them scanned the whole table on every request (issue 17). These rows hold
the same counts, kept exact by the database itself: triggers on ``customers`` (migration
0019_customer_counts) add and subtract on every INSERT, DELETE and UPDATE of the three
columns, in the writer's own transaction, whichever code path writes (the API, the bulk
import, the evaluation, erasure, the demo seeder, a test's fixture). No application code
writes here, so no writer can forget to.

Erased customers stay counted, as they stay rows (a tombstone keeps its branch, tier and
stage), exactly as the full count did. A group whose customers all left keeps a row of 0.
"""

from __future__ import annotations

import uuid

from sqlalchemy import String
from sqlmodel import Field, SQLModel


class CustomerCount(SQLModel, table=True):
    __tablename__ = "customer_counts"

    branch_id: uuid.UUID = Field(primary_key=True)
    tier_id: uuid.UUID = Field(primary_key=True)
    lifecycle_stage: str = Field(primary_key=True, sa_type=String(16))
    customers: int = 0
