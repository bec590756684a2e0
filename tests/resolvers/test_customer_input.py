"""Money input: decimal yuan in, integer fen kept; anything that would round is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import BadUserInput
from core.money import MAX_CENTS, cents_of


@given(st.integers(min_value=0, max_value=MAX_CENTS))
def test_any_amount_with_at_most_two_decimals_round_trips_to_fen(cents: int) -> None:
    assert cents_of("amount", Decimal(cents).scaleb(-2)) == cents


@pytest.mark.parametrize(
    "text", ["1.234", "0.001", "99.999", "1.0000000000000000000000000001", "1E-1000026"]
)
def test_a_third_decimal_is_refused_not_rounded(text: str) -> None:
    with pytest.raises(BadUserInput, match="at most two decimals"):
        cents_of("amount", Decimal(text))


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_a_value_that_is_not_a_number_is_refused(text: str) -> None:
    with pytest.raises(BadUserInput, match="number of yuan"):
        cents_of("amount", Decimal(text))


def test_a_negative_amount_is_refused() -> None:
    with pytest.raises(BadUserInput, match="negative"):
        cents_of("amount", Decimal("-0.01"))


@pytest.mark.parametrize("text", ["21474836.48", "1E+999999", "9" * 40])
def test_more_than_a_money_column_holds_is_refused_without_overflowing(text: str) -> None:
    # 1E+999999 * 100 overflows the decimal context: a 500 before the check came first.
    with pytest.raises(BadUserInput, match=r"at most 21474836\.47 yuan"):
        cents_of("amount", Decimal(text))


def test_a_negative_amount_too_large_to_scale_is_refused_as_negative() -> None:
    with pytest.raises(BadUserInput, match="negative"):
        cents_of("amount", Decimal("-1E+999999"))
