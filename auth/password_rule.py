"""Staff passwords chosen by people, and the one-time passwords an administrator hands out.

A one-time password (``cardcrm init``, ``createStaffUser``, ``resetStaffPassword``) is random
and shown once; the account then signs in only to replace it (``auth.login.change_password``).
A password someone chooses must be at least ``password_min_length`` characters, hold letters
and digits, and be neither the username nor the password it replaces.
"""

from __future__ import annotations

import secrets

from core.errors import BadUserInput
from core.settings import Settings

# 18 random bytes: 24 URL-safe characters, ~144 bits; easy to copy from a terminal.
_ONE_TIME_BYTES = 18


def one_time_password() -> str:
    return secrets.token_urlsafe(_ONE_TIME_BYTES)


def check_new_password(settings: Settings, *, username: str, old: str, new: str) -> None:
    """Raises BAD_USER_INPUT (field ``newPassword``) unless ``new`` satisfies the rule."""
    problems = []
    if len(new) < settings.password_min_length:
        problems.append(f"at least {settings.password_min_length} characters")
    if not any(c.isalpha() for c in new) or not any(c.isdigit() for c in new):
        problems.append("letters and digits")
    if new.casefold() == username.casefold():
        problems.append("not the username")
    if new == old:
        problems.append("not the password it replaces")
    if problems:
        raise BadUserInput("the new password needs " + ", ".join(problems), field="newPassword")
