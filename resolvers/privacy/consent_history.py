"""The one writer of consent history (``models.privacy.consent``): every change of a
customer's marketing consent, one row per channel whose value changed, written in the
transaction of the change itself.

Every path that writes the ``consent_*`` columns calls it: ``createCustomer`` and
``updateCustomer`` (``resolvers.customers.records``), the bulk import, a chunk at a time in
one INSERT (``resolvers.customers.bulk_import``), and the customer's own
``updateMyConsent`` (``resolvers.privacy.consent``). A new customer counts as one whose every
channel was withheld: a row per channel granted. The readers are here too: a page of
customers' histories in one query (``ConsentHistoryByCustomerLoader``) and when each
channel last changed.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, func, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.columns import utcnow
from models.privacy.consent import ConsentChange, ConsentSource

if TYPE_CHECKING:
    from core.context import Context
    from core.request_database import RequestDatabase

CHANNELS = ("sms", "email", "push", "phone")
"""The marketing channels, each a ``consent_<channel>`` column of the customer."""
CONSENT_CHANGES: Table = ConsentChange.__table__  # type: ignore[attr-defined]
MAX_HISTORY = 50


def granted_of(row: Any) -> dict[str, bool]:
    """Each channel's consent on a customer row (or anything with ``consent_*`` values)."""
    if isinstance(row, Mapping):
        return {channel: bool(row[f"consent_{channel}"]) for channel in CHANNELS}
    return {channel: bool(getattr(row, f"consent_{channel}")) for channel in CHANNELS}


def consent_changes(
    customer_id: uuid.UUID,
    before: Mapping[str, bool] | None,
    after: Mapping[str, bool],
    *,
    source: ConsentSource,
    actor_id: str,
    at: datetime | None = None,
) -> list[dict[str, Any]]:
    """The history rows (INSERT values) for the channels that differ between ``before`` and
    ``after``; ``before`` None is a new customer, every channel withheld."""
    was = before or dict.fromkeys(CHANNELS, False)
    when = at or utcnow()
    return [
        {
            "id": uuid.uuid4(),
            "customer_id": customer_id,
            "channel": channel,
            "granted": after[channel],
            "source": source.value,
            "actor_id": actor_id,
            "changed_at": when,
        }
        for channel in CHANNELS
        if after[channel] != was[channel]
    ]


def onboarding_changes(customers: Iterable[Any], actor_id: str) -> list[dict[str, Any]]:
    """The history of new customers (rows, or their INSERT values): a row per channel each
    granted, at its creation, source onboarding (the bulk import, the demo seeder)."""

    def value(customer: Any, name: str) -> Any:
        return customer[name] if isinstance(customer, Mapping) else getattr(customer, name)

    return [
        change
        for customer in customers
        for change in consent_changes(
            value(customer, "id"),
            None,
            granted_of(customer),
            source=ConsentSource.ONBOARDING,
            actor_id=actor_id,
            at=value(customer, "created_at"),
        )
    ]


async def record_consent_changes(session: AsyncSession, changes: Sequence[dict[str, Any]]) -> None:
    """Adds the rows to the caller's transaction, in one INSERT however many; the caller
    commits them with the change they record."""
    if changes:
        await session.execute(insert(CONSENT_CHANGES), list(changes))


def _newest_first() -> tuple[Any, Any]:
    return col(ConsentChange.changed_at).desc(), col(ConsentChange.id).desc()


async def last_changes(
    db: RequestDatabase, customer_ids: Sequence[uuid.UUID]
) -> list[dict[str, datetime]]:
    """When each channel of each customer last changed (a channel never changed is absent)."""
    rows = await db.execute(
        select(
            col(ConsentChange.customer_id),
            col(ConsentChange.channel),
            func.max(col(ConsentChange.changed_at)),
        )
        .where(col(ConsentChange.customer_id).in_(customer_ids))
        .group_by(col(ConsentChange.customer_id), col(ConsentChange.channel))
    )
    found: dict[uuid.UUID, dict[str, datetime]] = defaultdict(dict)
    for customer_id, channel, at in cast("list[tuple[uuid.UUID, str, datetime]]", rows.all()):
        found[customer_id][channel] = at
    return [found[customer_id] for customer_id in customer_ids]


async def newest_changes(
    db: RequestDatabase, keys: Sequence[tuple[uuid.UUID, int]]
) -> list[list[ConsentChange]]:
    """The newest ``limit`` changes of each (customer, limit): one query per distinct limit."""
    found: dict[tuple[uuid.UUID, int], list[ConsentChange]] = {}
    for limit in {limit for _, limit in keys}:
        ids = [customer_id for customer_id, n in keys if n == limit]
        rank = func.row_number().over(
            partition_by=col(ConsentChange.customer_id), order_by=_newest_first()
        )
        ranked = (
            select(ConsentChange, rank.label("rank"))
            .where(col(ConsentChange.customer_id).in_(ids))
            .subquery()
        )
        rows = await db.scalars(
            select(aliased(ConsentChange, ranked))
            .where(ranked.c.rank <= limit)
            .order_by(ranked.c.customer_id, ranked.c.rank)
        )
        grouped: dict[uuid.UUID, list[ConsentChange]] = defaultdict(list)
        for row in rows:
            grouped[row.customer_id].append(row)
        found.update({(customer_id, limit): grouped[customer_id] for customer_id in ids})
    return [found[key] for key in keys]


class ConsentHistoryByCustomerLoader(DataLoader[tuple[uuid.UUID, int], list[ConsentChange]]):
    """A page of customers' newest consent changes, keyed (customer id, how many)."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[tuple[uuid.UUID, int]]) -> list[list[ConsentChange]]:
        return await newest_changes(self._db, keys)


class ConsentSinceByCustomerLoader(DataLoader[uuid.UUID, dict[str, datetime]]):
    """When each channel of a customer last changed, for a page of customers at once."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[dict[str, datetime]]:
        return await last_changes(self._db, keys)
