"""What every command needs: the settings, a started state, and clear failures."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from api.state import AppState, build_state
from auth.audit_key import ChainKeyMissing
from core.settings import Settings, SettingsError, get_settings
from core.startup import DatabaseUnreachable, explained
from migrations import DatabaseNotMigrated, MigrationFailed

T = TypeVar("T")
console = Console()
errors = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Prints ``error: message`` as one line, never wrapped (logs keep it whole), for exit 1."""
    errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code=1)


def settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from exc


@asynccontextmanager
async def started(check_migrations: bool = True) -> AsyncIterator[AppState]:
    try:
        with explained(settings().sqlalchemy_url):
            state = await build_state(settings(), check_migrations=check_migrations)
    except (DatabaseNotMigrated, DatabaseUnreachable, ChainKeyMissing) as exc:
        raise fail(str(exc)) from exc
    # Like a server, a long command (an import) seals under a rotated key soon after it is
    # added, so `cardcrm keys reencrypt` beside it ends with nothing old (api/key_ring.py).
    watcher = asyncio.create_task(state.keys.watch(state.settings.key_check_seconds))
    try:
        yield state
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await state.broker.close()
        await state.database.dispose()


@contextmanager
def database_failures() -> Iterator[None]:
    """A database that cannot be used, or a migration Alembic refuses, is one line of error
    and exit 1 (for the commands that reach the database without ``started``)."""
    try:
        with explained(settings().sqlalchemy_url):
            yield
    except (DatabaseNotMigrated, DatabaseUnreachable, MigrationFailed) as exc:
        raise fail(str(exc)) from exc


def run(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())  # type: ignore[arg-type]


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or Ctrl-C, for a worker that finishes its batch and exits 0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
