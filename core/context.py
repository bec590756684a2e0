"""The per-request context every resolver receives (``Info = strawberry.Info[Context, None]``).

An HTTP request gets a ``Context`` with its one session; a WebSocket connection gets a
``ConnectionContext``, whose principal arrives with ``connection_init`` and whose sessions are
opened one per subscription event (``event()``).

The context lives on the floor and knows nothing above it: the running server reaches it as a
``ServerState`` (``api.state.AppState`` is the one there is), a domain's long-lived part (the
tier catalogue) is asked for by its class (``state.part``), and a DataLoader is asked for by
its class too (``loader``), built from the context on first use. So no domain is named here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import strawberry

from core.broker import Broker
from core.database import Database
from core.encryption import KeyRing
from core.errors import Unauthenticated
from core.identity import Principal
from core.request_database import RequestDatabase
from core.settings import Settings

Part = TypeVar("Part")
Loader = TypeVar("Loader")


class ServerState(Protocol):
    """What a request reads from the running server."""

    settings: Settings
    database: Database
    broker: Broker

    @property
    def key_ring(self) -> KeyRing:
        """The process's key ring as of now (hold it for one unit of work, not longer)."""
        ...

    def part(self, kind: type[Part]) -> Part:
        """The server's one instance of a long-lived part, looked up by its class."""
        ...


LoaderCache = dict[Callable[["Context"], Any], Any]


@dataclass
class Context:
    state: ServerState
    principal: Principal
    db: RequestDatabase
    request_id: str
    client_addr: str | None = None
    connection_params: dict[str, object] | None = None
    """The ``connection_init`` payload of a WebSocket connection (strawberry sets it)."""
    _loaders: LoaderCache = field(default_factory=dict, repr=False)

    @property
    def settings(self) -> Settings:
        return self.state.settings

    @property
    def key_ring(self) -> KeyRing:
        return self.state.key_ring

    def loader(self, kind: Callable[[Context], Loader]) -> Loader:
        """This request's one instance of a DataLoader class, so its batches and cache are shared
        by every field that asks (a new request starts with none)."""
        cache = self._loader_cache()
        found = cache.get(kind)
        if found is None:
            found = cache[kind] = kind(self)
        return found  # type: ignore[no-any-return]

    def _loader_cache(self) -> LoaderCache:
        return self._loaders

    @asynccontextmanager
    async def event(self) -> AsyncIterator[RequestDatabase]:
        """The database for resolving one subscription event: a request already has one."""
        yield self.db


@dataclass(frozen=True)
class _Event:
    db: RequestDatabase
    loaders: LoaderCache


_current_event: ContextVar[_Event | None] = ContextVar("cardcrm_event", default=None)

EventCheck = Callable[[Principal], Awaitable[None]]


class ConnectionContext(Context):
    """The context of one WebSocket connection, shared by all its subscriptions.

    It exists before anyone is known: the principal is set when ``connection_init`` carries a
    valid token, and the protocol refuses every operation before that. It holds no session,
    since a connection lives for hours: each event is resolved inside ``event()``, which first
    runs ``before_event`` (the roof passes the revocation check: a connection outlives a
    sign-in), then opens a short session and fresh loaders (nothing cached goes stale between
    events). They sit in a context variable, not on this shared object, because each
    subscription runs in its own task and two of them may resolve events at the same time.
    """

    def __init__(
        self,
        *,
        state: ServerState,
        request_id: str,
        client_addr: str | None,
        before_event: EventCheck,
    ) -> None:
        # Deliberately not Context.__init__: there is no principal and no session yet.
        self.state = state
        self.request_id = request_id
        self.client_addr = client_addr
        self.connection_params = None
        self._principal: Principal | None = None
        self._before_event = before_event

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

    def _loader_cache(self) -> LoaderCache:
        return self._event().loaders

    def _event(self) -> _Event:
        current = _current_event.get()
        if current is None:
            raise RuntimeError("resolve subscription events inside `async with context.event()`")
        return current

    @asynccontextmanager
    async def event(self) -> AsyncIterator[RequestDatabase]:
        await self._before_event(self.principal)
        async with self.state.database.session() as session:
            db = RequestDatabase(session)
            previous = _current_event.get()
            _current_event.set(_Event(db, {}))
            try:
                yield db
            finally:
                # Not ``reset(token)``: a generator the garbage collector closes runs this in
                # another context, where a token is refused; restoring the value works in any.
                _current_event.set(previous)


Info = strawberry.Info[Context, None]
