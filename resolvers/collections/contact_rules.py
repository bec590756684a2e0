"""The collection contact rules (the marketing consent rules do not apply to collection).

A collector may not contact a customer in the quiet hours (``settings.collection_quiet_start``
to ``collection_quiet_end``, default 21:00–08:00, in the bank's local time,
``settings.contact_timezone``), nor more than ``collection_max_contacts_per_day`` (default 3)
times per customer and local day, counting every collection contact on any of their cases.
A refused contact is CONTACT_NOT_ALLOWED and nothing is written.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from core.errors import ContactNotAllowed
from core.settings import Settings
from models.collections.case import CollectionContact


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Whether ``local`` falls in [start, end), a window that may span midnight."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def local_day_bounds(settings: Settings, at: datetime) -> tuple[datetime, datetime]:
    """The UTC instants at which ``at``'s local day begins and ends."""
    zone = ZoneInfo(settings.contact_timezone)
    day = at.astimezone(zone).date()
    starts = datetime.combine(day, time(), zone)
    return starts.astimezone(UTC), (starts + timedelta(days=1)).astimezone(UTC)


async def check_collection_contact(
    session: AsyncSession, settings: Settings, customer_id: uuid.UUID, at: datetime
) -> None:
    """Raises CONTACT_NOT_ALLOWED unless a collection contact with the customer at ``at`` is
    within the rules."""
    local = at.astimezone(ZoneInfo(settings.contact_timezone)).time()
    start, end = settings.collection_quiet_start, settings.collection_quiet_end
    if in_quiet_hours(local, start, end):
        raise ContactNotAllowed(
            f"no collection contact between {start:%H:%M} and {end:%H:%M} local time "
            f"({settings.contact_timezone}); it is {local:%H:%M} there"
        )
    starts, ends = local_day_bounds(settings, at)
    made = await session.scalar(
        select(func.count()).where(
            col(CollectionContact.customer_id) == customer_id,
            col(CollectionContact.occurred_at) >= starts,
            col(CollectionContact.occurred_at) < ends,
        )
    )
    if int(made or 0) >= settings.collection_max_contacts_per_day:
        raise ContactNotAllowed(
            f"this customer has had {settings.collection_max_contacts_per_day} collection "
            "contacts today (local day), the most allowed; try again tomorrow"
        )
