"""The per-request context every resolver receives (``Info = strawberry.Info[Context, None]``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from api.settings import Settings
from api.state import AppState
from auth.audit import AuditEvent
from auth.principal import Principal
from models.encryption import KeyRing

if TYPE_CHECKING:
    from resolvers.loaders import Loaders

T = TypeVar("T")


class RequestDatabase:
    """The request's one session, used by one coroutine at a time.

    GraphQL resolves sibling fields concurrently and an ``AsyncSession`` must not be; this
    gate serialises them, so a request holds at most one pooled connection.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._gate = asyncio.Lock()

    async def execute(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Result[Any]:
        async with self._gate:
            return await self._session.execute(statement, params)

    async def scalars(self, statement: Executable) -> list[Any]:
        async with self._gate:
            return list((await self._session.scalars(statement)).all())

    async def scalar(self, statement: Executable) -> Any:
        async with self._gate:
            return await self._session.scalar(statement)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[AsyncSession]:
        """The session itself, for a unit of work that adds, flushes and commits."""
        async with self._gate:
            try:
                yield self._session
            except BaseException:
                await self._session.rollback()
                raise


@dataclass
class Context:
    state: AppState
    principal: Principal
    db: RequestDatabase
    request_id: str
    client_addr: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.state.settings

    @property
    def key_ring(self) -> KeyRing:
        return self.state.key_ring

    @cached_property
    def loaders(self) -> Loaders:
        from resolvers.loaders import Loaders

        return Loaders(self.db)

    def audit_event(self, action: str, **kwargs: Any) -> AuditEvent:
        """An audit event pre-filled with who is acting and from which request."""
        return AuditEvent(
            actor_kind=self.principal.kind.value,
            actor_id=self.principal.subject,
            action=action,
            request_id=self.request_id,
            client_addr=self.client_addr,
            **kwargs,
        )


Info = strawberry.Info[Context, None]
