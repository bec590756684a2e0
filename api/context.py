"""The per-request context every resolver receives (``Info = strawberry.Info[Context, None]``).

An HTTP request gets a ``Context`` with its one session; a WebSocket connection gets a
``ConnectionContext``, whose principal arrives with ``connection_init`` and whose sessions are
opened one per subscription event (``event()``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import strawberry
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from api.errors import Unauthenticated
from api.outage import UNAVAILABLE_MESSAGE, DatabaseUnavailable, is_database_outage
from api.settings import Settings
from api.state import AppState
from auth.audit import AuditEvent
from auth.principal import Principal
from models.encryption import KeyRing

if TYPE_CHECKING:
    from resolvers.loaders import Loaders


class RequestDatabase:
    """The request's one session, used by one coroutine at a time.

    GraphQL resolves sibling fields concurrently and an ``AsyncSession`` must not be; this
    gate serialises them, so a request holds at most one pooled connection.

    It also remembers how the database treated the request (``api.outage``): ``outage`` is
    the first sign that the database did not answer, after which every later use fails at
    once instead of waiting out the statement timeout again; ``interrupted_waiting`` says the
    request's deadline stopped it while it waited on the database, so the database, not the
    query, was what was slow.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._gate = asyncio.Lock()
        self.outage: BaseException | None = None
        self.interrupted_waiting = False

    async def execute(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Result[Any]:
        async with self._turn():
            return await self._session.execute(statement, params)

    async def scalars(self, statement: Executable) -> list[Any]:
        async with self._turn():
            return list((await self._session.scalars(statement)).all())

    async def scalar(self, statement: Executable) -> Any:
        async with self._turn():
            return await self._session.scalar(statement)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[AsyncSession]:
        """The session itself, for a unit of work that adds, flushes and commits."""
        async with self._turn():
            try:
                yield self._session
            except BaseException:
                await self._session.rollback()
                raise

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        async with self._gate:
            if self.outage is not None:
                raise DatabaseUnavailable(UNAVAILABLE_MESSAGE) from self.outage
            try:
                yield
            except asyncio.CancelledError:
                self.interrupted_waiting = True
                raise
            except Exception as exc:
                if is_database_outage(exc):
                    self.outage = exc
                raise


@dataclass
class Context:
    state: AppState
    principal: Principal
    db: RequestDatabase
    request_id: str
    client_addr: str | None = None
    connection_params: dict[str, object] | None = None
    """The ``connection_init`` payload of a WebSocket connection (strawberry sets it)."""

    @property
    def settings(self) -> Settings:
        return self.state.settings

    @property
    def key_ring(self) -> KeyRing:
        return self.state.key_ring

    @cached_property
    def loaders(self) -> Loaders:
        from resolvers.loaders import Loaders

        return Loaders(self.db, self.state.tiers)

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

    @asynccontextmanager
    async def event(self) -> AsyncIterator[RequestDatabase]:
        """The database for resolving one subscription event: a request already has one."""
        yield self.db


@dataclass(frozen=True)
class _Event:
    db: RequestDatabase
    loaders: Loaders


_current_event: ContextVar[_Event | None] = ContextVar("cardcrm_event", default=None)


class ConnectionContext(Context):
    """The context of one WebSocket connection, shared by all its subscriptions.

    It exists before anyone is known: the principal is set when ``connection_init`` carries a
    valid token, and the protocol refuses every operation before that. It holds no session,
    since a connection lives for hours: each event is resolved inside ``event()``, which opens
    a short session and fresh loaders (nothing cached goes stale between events). They sit in
    a context variable, not on this shared object, because each subscription runs in its own
    task and two of them may resolve events at the same time.
    """

    def __init__(self, *, state: AppState, request_id: str, client_addr: str | None) -> None:
        # Deliberately not Context.__init__: there is no principal and no session yet.
        self.state = state
        self.request_id = request_id
        self.client_addr = client_addr
        self.connection_params = None
        self._principal: Principal | None = None

    def __repr__(self) -> str:  # the dataclass one would read principal and db
        return f"ConnectionContext(request_id={self.request_id!r})"

    @property
    def principal(self) -> Principal:
        if self._principal is None:
            raise Unauthenticated("send an access token in `connection_init` first")
        return self._principal

    @principal.setter
    def principal(self, principal: Principal) -> None:
        self._principal = principal

    @property
    def db(self) -> RequestDatabase:
        return self._event().db

    @db.setter
    def db(self, db: RequestDatabase) -> None:
        raise AttributeError("a connection has no session of its own; use `event()`")

    @property
    def loaders(self) -> Loaders:
        return self._event().loaders

    def _event(self) -> _Event:
        current = _current_event.get()
        if current is None:
            raise RuntimeError("resolve subscription events inside `async with context.event()`")
        return current

    @asynccontextmanager
    async def event(self) -> AsyncIterator[RequestDatabase]:
        from auth.revocation import ensure_not_revoked
        from resolvers.loaders import Loaders

        # A connection lives longer than a sign-in may: a revoked token (a reused refresh
        # token's family, a revoked client) gets no further event (UNAUTHENTICATED instead).
        await ensure_not_revoked(self.state.database, self.principal)
        async with self.state.database.session() as session:
            db = RequestDatabase(session)
            previous = _current_event.get()
            _current_event.set(_Event(db, Loaders(db, self.state.tiers)))
            try:
                yield db
            finally:
                # Not ``reset(token)``: a generator the garbage collector closes runs this in
                # another context, where a token is refused; restoring the value works in any.
                _current_event.set(previous)


Info = strawberry.Info[Context, None]
