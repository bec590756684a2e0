"""Identifier validation, normalisation and generation."""

from __future__ import annotations

import datetime
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.customers.identifiers import (
    InvalidIdentifier,
    generate_mobile,
    generate_national_id,
    generate_unionpay_pan,
    luhn_check_digit,
    luhn_valid,
    national_id_birth_date,
    national_id_check_char,
    national_id_is_male,
    normalize_email,
    normalize_mobile,
    normalize_name,
    normalize_national_id,
    normalize_pan,
)

TODAY = datetime.date(2026, 1, 1)
seeds = st.integers(min_value=0, max_value=2**32)
birth_dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY)


def _with_check_char(first17: str) -> str:
    return first17 + national_id_check_char(first17)


def _change_digit(value: str, position: int, shift: int) -> str:
    """Replace one digit with a different one (shift in 1..9)."""
    changed = str((int(value[position]) + shift) % 10)
    return value[:position] + changed + value[position + 1 :]


# --- mobile -----------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "8613812345678"],
)
def test_given_a_formatted_mobile_when_normalised_then_the_bare_11_digits_remain(
    typed: str,
) -> None:
    assert normalize_mobile(typed) == "13812345678"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "abc",
        "12812345678",
        "1381234567",
        "138123456789",
        "１３８１２３４５６７８",
        "+8712812345678",
    ],
)
def test_given_a_malformed_mobile_when_normalised_then_it_is_rejected_with_a_hint(
    typed: str,
) -> None:
    with pytest.raises(InvalidIdentifier, match="11 digits"):
        normalize_mobile(typed)


@given(seed=seeds)
def test_given_any_generated_mobile_when_normalised_then_it_is_unchanged(seed: int) -> None:
    mobile = generate_mobile(random.Random(seed))

    assert normalize_mobile(mobile) == mobile


# --- national ID ------------------------------------------------------------


def test_given_a_known_valid_id_when_normalised_then_it_is_accepted() -> None:
    assert normalize_national_id("11010519491231002X") == "11010519491231002X"


def test_given_a_lowercase_x_when_normalised_then_it_becomes_uppercase() -> None:
    assert normalize_national_id(" 11010519491231002x ") == "11010519491231002X"


def test_given_17_digits_when_computing_the_check_char_then_mod_11_2_gives_x() -> None:
    assert national_id_check_char("11010519491231002") == "X"


def test_given_a_wrong_check_digit_when_normalised_then_the_expected_one_is_named() -> None:
    with pytest.raises(InvalidIdentifier, match="check digit is wrong: expected X"):
        normalize_national_id("110105194912310021")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("11010519490231002", "not a real date"),
        ("11010519491301002", "not a real date"),
        ("11010518991231002", "before 1900"),
        ("11010520260102002", "in the future"),
    ],
)
def test_given_a_bad_birth_date_when_normalised_then_it_is_rejected(body: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        normalize_national_id(_with_check_char(body), today=TODAY)


@pytest.mark.parametrize(
    "typed",
    ["", "1101051949123100", "1101051949123100211", "11010519491231002Y", "X1010519491231002"],
)
def test_given_a_malformed_id_when_normalised_then_the_format_is_explained(typed: str) -> None:
    with pytest.raises(InvalidIdentifier, match="18 characters"):
        normalize_national_id(typed)


def test_given_a_non_digit_body_when_computing_the_check_char_then_it_is_rejected() -> None:
    with pytest.raises(InvalidIdentifier):
        national_id_check_char("1101051949123100X")


@given(seed=seeds, born=birth_dates, male=st.booleans())
def test_given_any_generated_id_when_normalised_then_it_is_unchanged_and_consistent(
    seed: int, born: datetime.date, male: bool
) -> None:
    national_id = generate_national_id(random.Random(seed), born, "310115", male=male)

    assert normalize_national_id(national_id, today=TODAY) == national_id
    assert national_id.startswith("310115")
    assert national_id_birth_date(national_id) == born
    assert national_id_is_male(national_id) is male
    assert national_id[14:17] != "000"


@given(seed=seeds, born=birth_dates, position=st.integers(0, 17), shift=st.integers(1, 9))
def test_given_a_generated_id_when_one_digit_changes_then_validation_fails(
    seed: int, born: datetime.date, position: int, shift: int
) -> None:
    national_id = generate_national_id(random.Random(seed), born)
    if national_id[position] == "X":
        tampered = national_id[:position] + str(shift)
    else:
        tampered = _change_digit(national_id, position, shift)

    with pytest.raises(InvalidIdentifier):
        normalize_national_id(tampered, today=TODAY)


def test_given_the_same_seed_when_generating_ids_then_the_result_repeats() -> None:
    born = datetime.date(1990, 3, 7)

    first = generate_national_id(random.Random(5), born)
    second = generate_national_id(random.Random(5), born)

    assert first == second


@pytest.mark.parametrize("region", ["11010", "010105", "11010a"])
def test_given_a_bad_region_code_when_generating_an_id_then_it_is_rejected(region: str) -> None:
    with pytest.raises(InvalidIdentifier, match="region code"):
        generate_national_id(random.Random(0), datetime.date(1990, 1, 1), region)


def test_given_a_birth_before_1900_when_generating_an_id_then_it_is_rejected() -> None:
    with pytest.raises(InvalidIdentifier, match="before 1900"):
        generate_national_id(random.Random(0), datetime.date(1899, 12, 31))


# --- card number ------------------------------------------------------------


def test_given_the_classic_test_visa_when_luhn_checked_then_it_is_valid() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_check_digit("411111111111111") == "1"


def test_given_the_textbook_example_when_computing_luhn_then_the_digit_is_3() -> None:
    assert luhn_check_digit("7992739871") == "3"
    assert luhn_valid("79927398713")


@pytest.mark.parametrize("pan", ["", "4", "4111111111111112", "4111-1111", "411111111111111a"])
def test_given_a_non_luhn_value_when_checked_then_it_is_invalid_without_raising(pan: str) -> None:
    assert not luhn_valid(pan)


def test_given_a_non_digit_partial_when_computing_luhn_then_it_is_rejected() -> None:
    with pytest.raises(InvalidIdentifier):
        luhn_check_digit("12a")


def test_given_a_grouped_card_number_when_normalised_then_the_digits_remain() -> None:
    assert normalize_pan("4111 1111-1111 1111") == "4111111111111111"


def test_given_a_wrong_luhn_digit_when_normalised_then_the_expected_one_is_named() -> None:
    with pytest.raises(InvalidIdentifier, match="expected 1"):
        normalize_pan("4111111111111112")


@pytest.mark.parametrize(
    "typed", ["", "411111111111111", "41111111111111111111", "4111x11111111111"]
)
def test_given_a_wrong_length_card_number_when_normalised_then_it_is_rejected(typed: str) -> None:
    with pytest.raises(InvalidIdentifier, match="16 to 19 digits"):
        normalize_pan(typed)


@given(seed=seeds, length=st.integers(16, 19), bin6=st.sampled_from(["622848", "625906"]))
def test_given_any_generated_pan_when_normalised_then_it_is_unchanged(
    seed: int, length: int, bin6: str
) -> None:
    pan = generate_unionpay_pan(random.Random(seed), bin6, length)

    assert normalize_pan(pan) == pan
    assert len(pan) == length
    assert pan.startswith(bin6)


@given(seed=seeds, position=st.integers(0, 15), shift=st.integers(1, 9))
def test_given_a_generated_pan_when_one_digit_changes_then_luhn_fails(
    seed: int, position: int, shift: int
) -> None:
    tampered = _change_digit(generate_unionpay_pan(random.Random(seed)), position, shift)

    assert not luhn_valid(tampered)
    with pytest.raises(InvalidIdentifier):
        normalize_pan(tampered)


@pytest.mark.parametrize(("bin6", "length"), [("62284", 16), ("62284a", 16), ("622848", 15)])
def test_given_bad_pan_parameters_when_generating_then_they_are_rejected(
    bin6: str, length: int
) -> None:
    with pytest.raises(InvalidIdentifier):
        generate_unionpay_pan(random.Random(0), bin6, length)


# --- email and name ---------------------------------------------------------


def test_given_a_padded_mixed_case_email_when_normalised_then_only_the_domain_is_lowered() -> None:
    assert normalize_email("  ZhangSan@Example.COM ") == "ZhangSan@example.com"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "zhangsan",
        "@example.com",
        "zhangsan@",
        "zhangsan@example",
        "zhang san@example.com",
        "zhangsan@@example.com",
        ".zhangsan@example.com",
        "zhang..san@example.com",
        "zhangsan@-example.com",
        "zhangsan@example.c0m",
    ],
)
def test_given_a_malformed_email_when_normalised_then_it_is_rejected(typed: str) -> None:
    with pytest.raises(InvalidIdentifier, match=r"name@example\.com"):
        normalize_email(typed)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("  张三  ", "张三"), ("John   Smith", "John Smith"), ("\tAnn\nLee ", "Ann Lee")],
)
def test_given_a_padded_name_when_normalised_then_whitespace_is_collapsed(
    typed: str, expected: str
) -> None:
    assert normalize_name(typed) == expected


@pytest.mark.parametrize("typed", ["", "   ", "a" * 101, "Ann\x00Lee"])
def test_given_an_empty_long_or_control_name_when_normalised_then_it_is_rejected(
    typed: str,
) -> None:
    with pytest.raises(InvalidIdentifier, match="name must"):
        normalize_name(typed)


def test_given_a_100_character_name_when_normalised_then_it_is_accepted() -> None:
    assert normalize_name("a" * 100) == "a" * 100
