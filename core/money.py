"""Money in the API: stored as integer fen (cents), given and shown as ``Decimal`` yuan.

This is the one way out: every schema type turns cents into yuan here. The one way in is
``resolvers.customers.input.cents_of``, which refuses more than two decimals, NaN, infinity
and negatives with BAD_USER_INPUT naming the field.
"""

from __future__ import annotations

from decimal import Decimal


def yuan(cents: int) -> Decimal:
    """Fen → yuan with two decimals: 123456 → Decimal("1234.56"), 0 → Decimal("0.00")."""
    return Decimal(cents).scaleb(-2)


def yuan_or_none(cents: int | None) -> Decimal | None:
    """``yuan``, keeping null (no limit, suppressed, not redeemed) null."""
    return None if cents is None else yuan(cents)
