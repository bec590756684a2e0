"""Reading surveys: the customer's open ones (``mySurveys``) and a customer's surveys for
staff (``Customer.surveys``), loaded for a whole page of customers in one query.

Row scope is the customer's (``Customer.surveys`` hangs off a customer the caller may already
see, and ``mySurveys`` reads the caller's own); which fields a role sees of a survey (the
C2 comment) is the policy table's (``auth.policy_outreach_surveys``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from core.errors import Forbidden
from core.identity import Principal
from core.request_database import RequestDatabase
from models.columns import utcnow
from models.outreach.survey import Survey

if TYPE_CHECKING:
    from core.context import Context


async def open_surveys(*, db: RequestDatabase, principal: Principal) -> list[Survey]:
    """The caller's surveys still to answer: unanswered and unexpired, soonest to close first."""
    customer_id = principal.customer_id
    if customer_id is None:
        raise Forbidden("mySurveys lists a customer's own surveys, in the app")
    rows = await db.scalars(
        select(Survey)
        .where(
            col(Survey.customer_id) == customer_id,
            col(Survey.answered_at).is_(None),
            col(Survey.expires_at) > utcnow(),
        )
        .order_by(col(Survey.expires_at), col(Survey.id))
    )
    return list(rows)


class SurveysByCustomerLoader(DataLoader[uuid.UUID, list[Survey]]):
    """Every survey of each customer, newest first, in one query for all the keys (a
    customer gets one per resolved complaint and campaign survey: a short list)."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[list[Survey]]:
        rows = await self._db.scalars(
            select(Survey)
            .where(col(Survey.customer_id).in_(keys))
            .order_by(col(Survey.created_at).desc(), col(Survey.id))
        )
        grouped: dict[uuid.UUID, list[Survey]] = defaultdict(list)
        for row in rows:
            grouped[row.customer_id].append(row)
        return [grouped.get(key, []) for key in keys]
