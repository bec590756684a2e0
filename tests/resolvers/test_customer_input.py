"""Money input: decimal yuan in, integer fen kept; anything that would round is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.errors import BadUserInput
from resolvers.customer_input import cents_of


@given(st.integers(min_value=0, max_value=10**15))
def test_any_amount_with_at_most_two_decimals_round_trips_to_fen(cents: int) -> None:
    assert cents_of("amount", Decimal(cents).scaleb(-2)) == cents


@pytest.mark.parametrize("text", ["1.234", "0.001", "99.999"])
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
