"""The orders of the ``customers`` list, each a keyset: (sort key, id).

Creation time is the customer's own column (``resolvers.pagination`` pages it, with its
cursors). The evaluation's figures live in ``customer_metrics``, joined to the page query;
a customer never evaluated sorts as 0 (churn score, spend) or as never having transacted
(last transaction), so every customer has a key and the keyset has no NULL holes. Ties are
broken by id, in the same direction.

A cursor of these orders carries the order's name and the row's key
(``CHURN_SCORE|0.73|<id>``): a cursor given with another order than the one that issued it
is BAD_USER_INPUT, never a silently wrong page.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, literal, or_, select
from sqlmodel import col

from core.errors import BadUserInput
from models.customers.customer import Customer
from models.growth.customer_metrics import CustomerMetrics
from resolvers.pagination import Executor, Page, PageArgs, SortDirection

# A customer who never transacted is this many days from their last transaction.
NEVER_DAYS = 1_000_000


class CustomerOrderField(StrEnum):
    CREATED_AT = "created_at"
    CHURN_SCORE = "churn_score"
    SPEND = "spend"
    LAST_TRANSACTION = "last_transaction"


def sort_key(field: CustomerOrderField) -> Any:
    """The key of an order over the metrics (outer-joined); DESC: highest churn, highest
    spend, most recent transaction first."""
    if field is CustomerOrderField.CHURN_SCORE:
        return func.coalesce(col(CustomerMetrics.churn_score), literal(0.0))
    if field is CustomerOrderField.SPEND:
        return func.coalesce(col(CustomerMetrics.monetary_cents), literal(0))
    if field is CustomerOrderField.LAST_TRANSACTION:
        return -func.coalesce(col(CustomerMetrics.recency_days), literal(NEVER_DAYS))
    raise ValueError(f"{field} is the customer's own column")


def _parse(field: CustomerOrderField, text: str) -> Any:
    return float(text) if field is CustomerOrderField.CHURN_SCORE else int(text)


def encode(field: CustomerOrderField, key: Any, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{field.name}|{key}|{row_id}".encode()).decode()


def decode(field: CustomerOrderField, cursor: str, name: str) -> tuple[Any, uuid.UUID]:
    try:
        order, key, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        if order == field.name:
            return _parse(field, key), uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadUserInput(f"`{name}` is not a cursor this API issued", field=name) from exc
    raise BadUserInput(
        f"`{name}` was issued for another order than {field.name}; page again from the start",
        field=name,
    )


def _beyond(key: Any, cursor: tuple[Any, uuid.UUID], ascending: bool) -> Any:
    value, row_id = cursor
    customer_id = col(Customer.id)
    if ascending:
        return or_(key > value, and_(key == value, customer_id > row_id))
    return or_(key < value, and_(key == value, customer_id < row_id))


async def page_by_metric(
    db: Executor,
    conditions: list[Any],
    *,
    field: CustomerOrderField,
    args: PageArgs,
    direction: SortDirection,
) -> tuple[Page[Customer], Callable[[], Awaitable[int]]]:
    """One keyset page of customers ordered by an evaluation figure, in one statement, and a
    lazy count of all that match."""
    key = sort_key(field)
    ascending = direction is SortDirection.ASC
    scan_ascending = ascending != args.backwards
    query = (
        select(Customer, key)
        .outerjoin(CustomerMetrics, col(CustomerMetrics.customer_id) == col(Customer.id))
        .where(*conditions)
    )
    if args.after is not None:
        query = query.where(_beyond(key, decode(field, args.after, "after"), ascending))
    if args.before is not None:
        query = query.where(_beyond(key, decode(field, args.before, "before"), not ascending))
    customer_id = col(Customer.id)
    order = (key.asc(), customer_id.asc()) if scan_ascending else (key.desc(), customer_id.desc())
    result = await db.execute(query.order_by(*order).limit(args.size + 1))  # type: ignore[attr-defined]
    rows: Sequence[Any] = result.all()
    more = len(rows) > args.size
    rows = list(rows[: args.size])
    if args.backwards:
        rows.reverse()
    edges = [(encode(field, value, row.id), row) for row, value in rows]
    if args.backwards:
        page = Page(edges, has_next_page=args.before is not None, has_previous_page=more)
    else:
        page = Page(edges, has_next_page=more, has_previous_page=args.after is not None)

    async def count() -> int:
        statement = select(func.count()).select_from(Customer).where(*conditions)
        return int(await db.scalar(statement))

    return page, count
