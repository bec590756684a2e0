"""What every command needs: the settings, a started state, and clear failures."""

from __future__ import annotations

import asyncio
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
    try:
        yield state
    finally:
        await state.broker.close()
        await state.database.dispose()


def run(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())  # type: ignore[arg-type]
