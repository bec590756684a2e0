"""What every administrative change shares: who acts, the version check, and its audit entry.

The GraphQL mutations (an admin's token) and the ``cardcrm`` commands (an operator at the
machine) call the same functions here; each passes an ``Events`` maker that names the actor
(``auth.audit.events_by`` or ``cli_events``). Every change is checked against the version
the caller read (CONFLICT when stale), bumps it, and commits with its audit entry.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import AuditEvent
from core.errors import Conflict, NotFound

Events = Callable[..., AuditEvent]


class Reader(Protocol):
    """What the listings read through: a request's database or a command's session."""

    async def scalars(self, statement: Any) -> Any: ...


class Versioned(Protocol):
    version: int


def cli_events() -> Events:
    """Audit events of the operator running a ``cardcrm`` command (their OS user)."""
    user = getpass.getuser()

    def event(action: str, **kwargs: Any) -> AuditEvent:
        return AuditEvent(actor_kind="cli", actor_id=user, action=action, **kwargs)

    return event


T = TypeVar("T")


async def locked(session: AsyncSession, model: type[T], id: Any, what: str, field: str) -> T:
    """The row to change, locked until the commit (PostgreSQL; SQLite writes one at a time),
    so two admins' changes of one version cannot both pass the check; NOT_FOUND without it."""
    row = await session.get(model, id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound(f"no {what} with this id", field=field)
    return row


def check_version(row: Versioned, version: int | None, what: str) -> None:
    """CONFLICT unless ``version`` is the row's (None: the operator's CLI, which acts on the
    current row and reads it in the same transaction)."""
    if version is not None and row.version != version:
        raise Conflict(
            f"the {what} is at version {row.version}, not {version}; reload it and retry",
            field="version",
        )
    row.version += 1
