"""What the ``cardcrm admin`` commands share: a session in a started state, refusals as one
line, and the one-time password printed once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from api.cli.common import console, fail, run, started
from core.errors import DomainError

T = TypeVar("T")


def do(work: Callable[[AsyncSession, str], Awaitable[T]]) -> T:
    """Runs ``work(session, timezone)`` in a started state; a refusal is one line, exit 1."""

    async def main() -> T:
        async with started() as state, state.database.session() as session:
            return await work(session, state.settings.contact_timezone)

    try:
        return run(main)
    except DomainError as exc:
        raise fail(exc.message) from exc


def say(text: str) -> None:
    console.print(text, markup=False, highlight=False)


def show_password(username: str, password: str) -> None:
    say(f"username:           {username}")
    say(f"one-time password:  {password}")
    say("It is shown once; it must be changed at the first sign-in (POST /auth/password).")
