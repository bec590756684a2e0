"""Branches and staff users by id, in one query per page.

Each loader is built once per request by ``context.loader(Kind)`` (core.context) and
returns results in key order (STYLE §5).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.organisation.organisation import Branch, StaffUser

if TYPE_CHECKING:
    from core.context import Context


class BranchByIdLoader(DataLoader[uuid.UUID, Branch | None]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Branch | None]:
        column: Any = Branch.id
        rows = await self._db.scalars(select(Branch).where(column.in_(keys)))
        by_id = {branch.id: branch for branch in rows}
        return [by_id.get(key) for key in keys]


class StaffUserByIdLoader(DataLoader[uuid.UUID, StaffUser | None]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[StaffUser | None]:
        rows = await self._db.scalars(select(StaffUser).where(col(StaffUser.id).in_(keys)))
        by_id = {row.id: row for row in rows}
        return [by_id.get(key) for key in keys]
