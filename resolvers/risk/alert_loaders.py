"""Risk alerts: the related rows a page of alerts (or of customers) loads in one query each.

Built once per request by ``context.loader(Kind)`` (core.context); results come back in key
order (STYLE §5). An alert's customer and card load through their own domains' loaders
(``CustomerByIdLoader``, ``CardByIdLoader``); its transaction and a customer's alerts here.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.risk.alert import RiskAlert
from models.transactions.transaction import Transaction
from resolvers.risk.alert_queries import alert_scope

if TYPE_CHECKING:
    from core.context import Context


class AlertTransactionLoader(DataLoader[uuid.UUID, Transaction | None]):
    """An alert's transaction (the alert is in scope, so its customer's transaction is too)."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Transaction | None]:
        rows = await self._db.scalars(select(Transaction).where(col(Transaction.id).in_(keys)))
        by_id = {row.id: row for row in rows}
        return [by_id.get(key) for key in keys]


class AlertsByCustomerLoader(DataLoader[tuple[uuid.UUID, int], list[RiskAlert]]):
    """Each customer's newest ``first`` alerts in the caller's scope, for every customer of
    the page in one query (numbered per customer by a window function)."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db
        self._scope = alert_scope(context.principal)

    async def _load(self, keys: Sequence[tuple[uuid.UUID, int]]) -> list[list[RiskAlert]]:
        most = max(first for _, first in keys)
        order = (col(RiskAlert.created_at).desc(), col(RiskAlert.id).desc())
        position = (
            func.row_number()
            .over(partition_by=col(RiskAlert.customer_id), order_by=order)
            .label("position")
        )
        numbered = (
            select(RiskAlert.id, position)  # type: ignore[call-overload]
            .where(col(RiskAlert.customer_id).in_({customer for customer, _ in keys}), self._scope)
            .subquery()
        )
        rows = await self._db.scalars(
            select(RiskAlert)
            .join(numbered, col(RiskAlert.id) == numbered.c.id)
            .where(numbered.c.position <= most)
            .order_by(*order)
        )
        grouped: dict[uuid.UUID, list[RiskAlert]] = defaultdict(list)
        for row in rows:
            grouped[row.customer_id].append(row)
        return [grouped.get(customer, [])[:first] for customer, first in keys]
