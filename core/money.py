"""Money in the API: stored as integer fen (cents), given and shown as ``Decimal`` yuan.

This is the one way out: every schema type turns cents into yuan here. The one way in is
``cents_of``, which refuses more than two decimals, NaN, infinity and negatives with
BAD_USER_INPUT naming the field (customers, offers, redemptions and transaction files use it).
"""

from __future__ import annotations

from decimal import Decimal

from core.errors import BadUserInput


def yuan(cents: int) -> Decimal:
    """Fen → yuan with two decimals: 123456 → Decimal("1234.56"), 0 → Decimal("0.00")."""
    return Decimal(cents).scaleb(-2)


def yuan_or_none(cents: int | None) -> Decimal | None:
    """``yuan``, keeping null (no limit, suppressed, not redeemed) null."""
    return None if cents is None else yuan(cents)


# Money columns are 32-bit INTEGERs of fen: 21474836.47 yuan is the most one holds.
MAX_CENTS = 2**31 - 1
MAX_YUAN = Decimal(MAX_CENTS).scaleb(-2)
_FEN = Decimal("0.01")


def cents_of(field_name: str, amount: Decimal) -> int:
    """Money arrives as a decimal string of yuan; it is kept as integer fen.

    Checked by comparisons, which are exact, before any arithmetic: on an unbounded Decimal,
    ``* 100`` overflows the context (1E+999999) or silently rounds (more than 28 digits).
    """
    if not amount.is_finite():
        raise BadUserInput(f"{field_name} must be a number of yuan", field=field_name)
    if amount < 0:
        raise BadUserInput(f"{field_name} must not be negative", field=field_name)
    if amount > MAX_YUAN:
        raise BadUserInput(f"{field_name} may be at most {MAX_YUAN} yuan", field=field_name)
    if amount != amount.quantize(_FEN):  # bounded, so the quantized value is exact
        raise BadUserInput(f"{field_name} may have at most two decimals", field=field_name)
    return int(amount * 100)


def yuan_text(cents: int) -> str:
    """Fen as yuan text, for messages and files: 12345 → "123.45" (the inverse of the above)."""
    return f"{cents // 100}.{cents % 100:02d}"
