"""Instants from a caller: a time without a UTC offset names no instant (whose midnight?),
so it is refused as BAD_USER_INPUT where it arrives, never guessed and never handed to the
database, where ``models.columns.UTCDateTime`` would refuse it as an unexpected error."""

from __future__ import annotations

from datetime import datetime

from core.errors import BadUserInput


def require_offsets(**times: datetime | None) -> None:
    """Refuses the first of ``times`` (named as the API spells the field) without an offset."""
    for field, value in times.items():
        if value is not None and value.utcoffset() is None:
            raise BadUserInput(
                f"`{field}` needs a UTC offset, e.g. 2025-01-01T00:00:00Z or …T08:00:00+08:00",
                field=field,
            )
