"""The figures as they were counted before the kept aggregates (issue 17), and the check
that the kept rows equal a fresh GROUP BY over the tables they summarise.

Both are the reference the kept aggregates are tested against: the full counts are the old
resolvers' SQL, unchanged; ``drift`` lists every group whose kept row differs from a recount.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.request_database import RequestDatabase
from models.cards.card import Card
from models.customers.customer import Customer, LifecycleStage
from models.growth.tier import Tier, TierCode
from models.transactions.transaction import Transaction, TransactionKind
from resolvers.analytics.sql import KeyCount, counts_by, in_branch, in_range


async def full_by_tier(db: RequestDatabase, branch_id: uuid.UUID | None) -> list[KeyCount]:
    query = (
        select(col(Tier.code), func.count(col(Customer.id)))
        .select_from(Customer)
        .join(Tier, col(Tier.id) == col(Customer.tier_id))
        .where(*in_branch(Customer.branch_id, branch_id))
        .group_by(col(Tier.code))
    )
    counts = {str(key): int(count) for key, count in map(tuple, (await db.execute(query)).all())}
    return [KeyCount(code.value, counts.get(code.value, 0)) for code in TierCode]


async def full_by_stage(db: RequestDatabase, branch_id: uuid.UUID | None) -> list[KeyCount]:
    stages = [stage.value for stage in LifecycleStage]
    where = in_branch(Customer.branch_id, branch_id)
    return await counts_by(db, col(Customer.lifecycle_stage), stages, where)


async def full_active(
    db: RequestDatabase, date_from: datetime, date_to: datetime, branch_id: uuid.UUID | None
) -> int:
    """Every customer probed for a purchase in range (the nested EXISTS of before)."""
    card_spent = exists().where(
        col(Transaction.card_id) == col(Card.id),
        col(Transaction.kind) == TransactionKind.PURCHASE,
        *in_range(col(Transaction.occurred_at), date_from, date_to),
    )
    spent = exists().where(col(Card.customer_id) == col(Customer.id), card_spent)
    query = (
        select(func.count())
        .select_from(Customer)
        .where(spent, *in_branch(Customer.branch_id, branch_id))
    )
    return int(await db.scalar(query))


_COUNTS_RECOUNTED = (
    "SELECT branch_id, tier_id, lifecycle_stage, COUNT(*) FROM customers "
    "GROUP BY branch_id, tier_id, lifecycle_stage"
)
_COUNTS_KEPT = (
    "SELECT branch_id, tier_id, lifecycle_stage, customers FROM customer_counts "
    "WHERE customers <> 0"
)
_SPANS_RECOUNTED = (
    "SELECT k.customer_id, MIN(t.occurred_at), MAX(t.occurred_at) "
    "FROM transactions AS t JOIN cards AS k ON k.id = t.card_id "
    "WHERE t.kind = 'purchase' GROUP BY k.customer_id"
)
_SPANS_KEPT = "SELECT customer_id, first_purchase_at, last_purchase_at FROM purchase_spans"


async def _rows(
    session: AsyncSession, sql: str, keys: int
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """The rows by their first ``keys`` columns."""
    rows = [tuple(row) for row in (await session.execute(text(sql))).all()]
    return {row[:keys]: row[keys:] for row in rows}


async def drift(session: AsyncSession) -> dict[str, Any]:
    """The kept groups that differ from a recount: {} when both aggregates are exact."""
    found: dict[str, Any] = {}
    for name, kept_sql, recount_sql, keys in (
        ("customer_counts", _COUNTS_KEPT, _COUNTS_RECOUNTED, 3),
        ("purchase_spans", _SPANS_KEPT, _SPANS_RECOUNTED, 1),
    ):
        kept = await _rows(session, kept_sql, keys)
        recounted = await _rows(session, recount_sql, keys)
        differing = {
            key: (kept.get(key), recounted.get(key))
            for key in kept.keys() | recounted.keys()
            if kept.get(key) != recounted.get(key)
        }
        if differing:
            found[name] = differing
    negative = await session.scalar(
        text("SELECT COUNT(*) FROM customer_counts WHERE customers < 0")
    )
    if negative:
        found["negative counts"] = negative
    return found
