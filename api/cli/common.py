"""What every command needs: the settings, a started state, and clear failures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import typer
from rich.console import Console

from api.settings import Settings, SettingsError, get_settings
from api.state import AppState, build_state
from migrations import DatabaseNotMigrated

T = TypeVar("T")
console = Console()
errors = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from exc


@asynccontextmanager
async def started(check_migrations: bool = True) -> AsyncIterator[AppState]:
    try:
        state = await build_state(settings(), check_migrations=check_migrations)
    except DatabaseNotMigrated as exc:
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


def run(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())  # type: ignore[arg-type]
