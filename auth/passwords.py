"""argon2id password hashing, run off the event loop (a hash costs tens of milliseconds)."""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so a miss costs as long as a wrong
    password. Made on first use, not at import: every ``cardcrm`` command imports this."""
    return _hasher.hash("cardcrm-timing-equaliser")


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True only for a real hash that matches; ``None`` burns the same time and says no."""
    return await asyncio.to_thread(_verify, stored_hash, password)
