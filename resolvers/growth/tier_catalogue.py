"""The tiers, kept per process: reference data that every customer page reads.

Tiers change only through seeding and migrations, never through the API, so each process
loads them with one statement and keeps them for ``reference_cache_seconds`` (a tier edited
in the database shows within that time on every instance). A page of customers then costs
no statement for their tiers, where a DataLoader cost one per request. The rows are
detached ORM objects, read and never written.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from sqlmodel import select

from models.growth.tier import Tier

if TYPE_CHECKING:
    from core.request_database import RequestDatabase


class TierCatalogue:
    def __init__(self, keep_seconds: float) -> None:
        self.keep_seconds = keep_seconds
        self._tiers: Mapping[uuid.UUID, Tier] = MappingProxyType({})
        self._fresh_until = float("-inf")

    async def by_id(self, db: RequestDatabase) -> Mapping[uuid.UUID, Tier]:
        """Every tier by id, loaded through ``db`` when the kept copy is older than allowed."""
        if time.monotonic() >= self._fresh_until:
            rows = await db.scalars(select(Tier))
            self._tiers = MappingProxyType({row.id: row for row in rows})
            self._fresh_until = time.monotonic() + self.keep_seconds
        return self._tiers
