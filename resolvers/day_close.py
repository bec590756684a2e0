"""A statement day's close: every bill and card standing of the day (resolvers/cards/
statements.py), then the collection cases that standing gives (resolvers/collections/
sync.py), in the caller's one transaction.

``cardcrm statements close`` and the demo's card book both close days through here, so a
demo's past months have the cases a bank's would; composing the two domains here keeps
either from importing the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from resolvers.cards.statements import CloseSummary, close_statements
from resolvers.collections.sync import SyncSummary, sweep


@dataclass(frozen=True)
class DayClosed:
    statements: CloseSummary
    cases: SyncSummary

    def details(self) -> dict[str, Any]:
        return {**self.statements.details(), **self.cases.details()}


async def close_day(session: AsyncSession, settings: Settings, as_of: date) -> DayClosed:
    """Closes ``as_of``'s statements, then syncs every collection case (uncommitted)."""
    statements = await close_statements(session=session, settings=settings, as_of=as_of)
    cases = await sweep(session, settings, as_of)
    return DayClosed(statements, cases)
