"""``LegalHoldsByCustomerLoader``: the legal holds on erasing each customer now, for a page
of erasure requests in one query (``resolvers.privacy.legal_holds.holds_of``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from models.columns import utcnow
from resolvers.privacy.legal_holds import holds_of

if TYPE_CHECKING:
    from core.context import Context


class LegalHoldsByCustomerLoader(DataLoader[uuid.UUID, list[str]]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db
        self._years = context.settings.privacy_retention_years

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[list[str]]:
        found = await holds_of(self._db, keys, retention_years=self._years, now=utcnow())
        return [found.get(key, []) for key in keys]
