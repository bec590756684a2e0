"""The longest text each input takes: the one place these maxima are defined (README, "Input
limits"; the schema's descriptions quote them), and the generic checks of free text against
them (``bounded``, ``checked_text``), kept with the maxima so every domain uses the same ones.

Every check of user-supplied text first compares its length with its maximum here, and only
then normalises it or runs a pattern over it, so no check's time grows with what a caller
sends past the maximum. Lengths count characters (code points) as typed, before any
normalisation. The request body as a whole is bounded by ``max_request_bytes``.
"""

from __future__ import annotations

from typing import Literal, overload

from core.errors import BadUserInput

# Audit text: a reveal's purpose, a tier override's reason.
PURPOSE = 200
# Customer record.
NAME = 100
PHONE = 32  # as typed: spaces, dashes, "+86"
ID_NUMBER = 32  # as typed: spaces, dashes
PAN = 32  # as typed: spaces, dashes
CUSTOMER_NUMBER = 32  # the bank's own customer number, as typed
EMAIL = 254  # RFC 5321 path limit
ADDRESS = 200
CARD_PRODUCT = 64
TAGS = 20  # tags on one customer
TAG = 32
# Service desk.
SUBJECT = 200
OUTCOME = 200
NOTES = 4000  # interaction notes, complaint descriptions, resolutions and notes
SURVEY_COMMENT = 1000  # a survey answer's comment
CHANNEL = 16
# Offers and redemptions.
OFFER_TITLE = 200
OFFER_DESCRIPTION = 2000
REDEMPTION_REFERENCE = 128
REDEMPTION_CODE = 64  # as typed: spaces, dashes
# Transactions (the ingest mutation and CSV files).
TRANSACTION_FIELD = 200  # any one field of a row, before it is parsed
MERCHANT = 200
TRANSACTION_REFERENCE = 64
# Small codes checked by a pattern.
TIME_OF_DAY = 5  # "21:30"
SEGMENT = 32


def bounded(field: str, value: str, maximum: int) -> str:
    """``value`` if it is at most ``maximum`` characters, else BAD_USER_INPUT naming ``field``."""
    if len(value) > maximum:
        raise BadUserInput(f"{field} may be at most {maximum} characters", field=field)
    return value


@overload
def checked_text(
    field: str, value: str | None, *, required: Literal[True], limit: int = ...
) -> str: ...
@overload
def checked_text(
    field: str, value: str | None, *, required: bool, limit: int = ...
) -> str | None: ...
def checked_text(
    field: str, value: str | None, *, required: bool, limit: int = NOTES
) -> str | None:
    """Free text, stripped: None when blank (BAD_USER_INPUT naming ``field`` if ``required``),
    BAD_USER_INPUT when longer than ``limit`` characters. It strips before it measures (a
    linear pass, like the length itself), so surrounding blanks do not count."""
    text = (value or "").strip()
    if not text:
        if required:
            raise BadUserInput(f"{field} must not be empty", field=field)
        return None
    if len(text) > limit:
        raise BadUserInput(f"{field} may be at most {limit} characters", field=field)
    return text
