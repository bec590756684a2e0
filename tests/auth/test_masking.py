"""The product masking formats."""

from __future__ import annotations

import datetime
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth.masking import (
    MaskKind,
    mask,
    mask_address,
    mask_birth_date,
    mask_email,
    mask_id_number,
    mask_name,
    mask_pan,
    mask_phone,
    mask_text,
)
from models.customers.identifiers import (
    generate_mobile,
    generate_national_id,
    generate_unionpay_pan,
)

seeds = st.integers(min_value=0, max_value=2**32)
# Letters, digits, CJK and spaces: no '*', so "contains the clear value" is meaningful.
plain_text = st.text(
    alphabet=st.sampled_from("abcXYZ0123456789 -@,.张三丰李四北京市朝阳区路号"), min_size=1
).filter(lambda text: text.strip() != "")


def _revealed(masked: str) -> int:
    return sum(1 for char in masked if char != "*")


@st.composite
def phones(draw: st.DrawFn) -> str:
    return generate_mobile(random.Random(draw(seeds)))


@st.composite
def national_ids(draw: st.DrawFn) -> str:
    born = draw(st.dates(datetime.date(1900, 1, 1), datetime.date(2025, 12, 31)))
    return generate_national_id(random.Random(draw(seeds)), born)


@st.composite
def pans(draw: st.DrawFn) -> str:
    return generate_unionpay_pan(random.Random(draw(seeds)), length=draw(st.integers(16, 19)))


# --- the table of display rules ---------------------------------------------


@pytest.mark.parametrize(
    ("kind", "clear", "masked"),
    [
        (MaskKind.NAME, "张三丰", "张*丰"),
        (MaskKind.NAME, "李四", "李*"),
        (MaskKind.NAME, "John Smith", "J*** S****"),
        (MaskKind.PHONE, "13812345678", "138****5678"),
        (MaskKind.ID_NUMBER, "110101199003071234", "110***********1234"),
        (MaskKind.PAN, "6228480012345678", "622848******5678"),
        (MaskKind.EMAIL, "zhangsan@example.com", "z*******@example.com"),
        (MaskKind.ADDRESS, "北京市朝阳区建国路88号", "北京市朝阳区******"),
        (MaskKind.BIRTH_DATE, "1990-03-07", "1990-**-**"),
        (MaskKind.CUSTOMER_NUMBER, "CIF00012345", "*******2345"),
        (MaskKind.CUSTOMER_NUMBER, "CIF-0001-2345", "*******2345"),
        (MaskKind.CUSTOMER_NUMBER, "C123", "****"),
        (MaskKind.TEXT, "VIP customer, prefers calls after 6pm", "******"),
    ],
)
def test_given_a_table_example_when_masked_then_the_product_format_is_shown(
    kind: MaskKind, clear: str, masked: str
) -> None:
    assert mask(kind, clear) == masked


def test_given_a_role_without_bin_rights_when_masking_a_pan_then_only_the_last_4_show() -> None:
    assert mask(MaskKind.PAN, "6228480012345678", strict=True) == "************5678"


@pytest.mark.parametrize("kind", [kind for kind in MaskKind if kind is not MaskKind.PAN])
def test_given_strict_mode_when_masking_a_non_pan_kind_then_nothing_changes(
    kind: MaskKind,
) -> None:
    assert mask(kind, "13812345678", strict=True) == mask(kind, "13812345678")


# --- per-kind details and fallbacks ------------------------------------------


@pytest.mark.parametrize(
    ("clear", "masked"),
    [
        ("张", "*"),
        ("欧阳娜娜", "欧**娜"),
        (" 张 三丰 ", "张*丰"),
        ("J. Smith", "J* S****"),
        ("Mary-Jane  Watson", "M******** W*****"),
        ("A B", "******"),
    ],
)
def test_given_an_unusual_name_when_masked_then_the_rule_still_hides_it(
    clear: str, masked: str
) -> None:
    assert mask_name(clear) == masked


@pytest.mark.parametrize(
    ("clear", "masked"),
    [
        ("+86 138 1234 5678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("8613812345678", "138****5678"),
        ("010-12345678", "********5678"),
        ("12345678", "****5678"),
        ("1234567", "*******"),
        ("abc", "***"),
    ],
)
def test_given_a_formatted_or_odd_phone_when_masked_then_at_most_the_last_4_leak_extra(
    clear: str, masked: str
) -> None:
    assert mask_phone(clear) == masked


@pytest.mark.parametrize(
    ("clear", "masked"),
    [
        ("11010519491231002x", "110***********002X"),
        ("110101 19900307 1234", "110***********1234"),
        ("110101900307123", "***********7123"),
        ("1101", "****"),
    ],
)
def test_given_a_formatted_or_legacy_id_when_masked_then_the_safe_form_is_used(
    clear: str, masked: str
) -> None:
    assert mask_id_number(clear) == masked


@pytest.mark.parametrize(
    ("clear", "strict", "masked"),
    [
        ("6228 4800 1234 5678", False, "622848******5678"),
        ("6228480012345678901", False, "622848*********8901"),
        ("6228480012345678901", True, "***************8901"),
        ("622848001234567", False, "***********4567"),
        ("1234", False, "****"),
    ],
)
def test_given_a_formatted_long_or_short_pan_when_masked_then_bin_shows_only_for_real_pans(
    clear: str, strict: bool, masked: str
) -> None:
    assert mask_pan(clear, strict=strict) == masked


@pytest.mark.parametrize(
    ("clear", "masked"),
    [
        ("a@example.com", "*@example.com"),
        ("  LiSi@Example.com ", "L***@Example.com"),
        ("zhangsan", "z*******"),
        ("@example.com", "******"),
    ],
)
def test_given_a_short_or_odd_email_when_masked_then_the_local_part_is_hidden(
    clear: str, masked: str
) -> None:
    assert mask_email(clear) == masked


@pytest.mark.parametrize(
    ("clear", "masked"),
    [
        ("广东省深圳市南山区科技园南路1号", "广东省深圳市南山区******"),
        ("上海市浦东新区张江路88号", "上海市浦东新区******"),
        ("建国路88号", "建国路******"),
        ("朝阳区", "朝******"),
        ("1 Main Street, Springfield, IL", "1 Main Street******"),
        ("Springfield", "Spr******"),
        ("ab", "a******"),
    ],
)
def test_given_an_address_when_masked_then_only_the_administrative_prefix_shows(
    clear: str, masked: str
) -> None:
    assert mask_address(clear) == masked


@pytest.mark.parametrize(
    ("clear", "masked"),
    [
        ("1990/3/7", "1990/**/**"),
        ("19900307", "1990****"),
        ("1990年3月7日", "1990年**月**日"),
        ("07/03/1990", "**********"),
        ("1990", "****"),
    ],
)
def test_given_another_date_format_when_masked_then_only_the_year_shows(
    clear: str, masked: str
) -> None:
    assert mask_birth_date(clear) == masked


@pytest.mark.parametrize("kind", list(MaskKind))
def test_given_an_empty_value_when_masked_then_nothing_is_shown(kind: MaskKind) -> None:
    assert mask(kind, "") == ""
    assert mask(kind, "   ") == ""


def test_given_text_of_any_length_when_masked_then_the_length_is_hidden() -> None:
    assert mask_text("a") == mask_text("a much longer note about the customer") == "******"


# --- properties ------------------------------------------------------------


@given(phone=phones())
def test_given_any_mobile_when_masked_then_length_and_last_4_are_kept(phone: str) -> None:
    masked = mask_phone(phone)

    assert len(masked) == len(phone)
    assert masked[-4:] == phone[-4:]
    assert masked != phone


@given(national_id=national_ids())
def test_given_any_national_id_when_masked_then_length_and_last_4_are_kept(
    national_id: str,
) -> None:
    masked = mask_id_number(national_id)

    assert len(masked) == len(national_id)
    assert masked[-4:] == national_id[-4:]
    assert masked != national_id


@given(pan=pans(), strict=st.booleans())
def test_given_any_pan_when_masked_then_length_and_last_4_are_kept(pan: str, strict: bool) -> None:
    masked = mask_pan(pan, strict=strict)

    assert len(masked) == len(pan)
    assert masked[-4:] == pan[-4:]
    assert masked.count("*") == len(pan) - (4 if strict else 10)


@given(value=st.text(), kind=st.sampled_from(MaskKind), strict=st.booleans())
def test_given_arbitrary_text_when_masked_then_it_never_raises(
    value: str, kind: MaskKind, strict: bool
) -> None:
    assert isinstance(mask(kind, value, strict=strict), str)


@given(value=plain_text, kind=st.sampled_from(MaskKind), strict=st.booleans())
def test_given_arbitrary_text_when_masked_then_the_clear_value_never_appears(
    value: str, kind: MaskKind, strict: bool
) -> None:
    masked = mask(kind, value, strict=strict)

    assert masked != value
    assert value.strip() not in masked


@given(value=st.text())
def test_given_odd_input_when_masked_then_no_more_than_the_normal_form_is_revealed(
    value: str,
) -> None:
    assert _revealed(mask_phone(value)) <= 7
    assert _revealed(mask_id_number(value)) <= 7
    assert _revealed(mask_pan(value)) <= 10
    assert _revealed(mask_pan(value, strict=True)) <= 4
    assert _revealed(mask_text(value)) == 0
