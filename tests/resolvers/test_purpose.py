"""A reveal's purpose is kept in the audit log in clear, so it must hold no personal data
however the data is written: grouped, in full-width or other digits, with invisible
characters, or as an e-mail address spelt out (issue 11, item 6). Hypothesis writes the
identifiers every way it can think of; each purpose must be refused, and refused for holding
personal data, not for saying too little."""

from __future__ import annotations

import datetime
import random
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import BadUserInput
from models.customers.identifiers import (
    generate_mobile,
    generate_national_id,
    generate_unionpay_pan,
)
from resolvers.purpose import NO_PERSONAL_DATA, SAY_WHY, check_purpose

MIN_LENGTH = 10
TICKET = "verifying the cardholder for ticket 99:"
# Ways to write one decimal digit that a reader reads as that digit.
DIGIT_FORMS = [
    lambda d: str(d),
    lambda d: chr(0xFF10 + d),  # full-width
    lambda d: chr(0x0660 + d),  # Arabic-Indic
    lambda d: chr(0x0966 + d),  # Devanagari
    lambda d: chr(0x1D7CE + d),  # mathematical bold
    lambda d: "〇一二三四五六七八九"[d],  # CJK numerals
]
SEPARATORS = [
    "",
    " ",
    "-",
    ".",
    "/",
    "\u2013",
    "\u00a0",
    "\u3000",
    "\u200b",
    "\uff0d",
    "・",
    "(",
    ")",
]
AT_FORMS = ["@", "＠", "﹫"]
DOT_FORMS = [".", "．", "。", " dot ", "(dot)", "[dot]"]
SAFE_WORDS = ["please", "check", "the", "card", "holder", "核对", "身份", "ticket", "again"]


def _digits(number: str, data: st.DataObject) -> str:
    written = []
    for position, char in enumerate(number):
        if position:
            written.append(data.draw(st.sampled_from(SEPARATORS)))
        written.append(
            char if not char.isdigit() else data.draw(st.sampled_from(DIGIT_FORMS))(int(char))
        )
    return "".join(written)


def _identifier(kind: str, seed: int) -> str:
    rng = random.Random(seed)
    if kind == "phone":
        return generate_mobile(rng)
    if kind == "id":
        born = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(20000))
        return generate_national_id(rng, born)
    return generate_unionpay_pan(rng, length=rng.choice([16, 19]))


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) - 0x21 + 0xFF01) if "!" <= c <= "~" else c for c in text)


def _refused_for_personal_data(purpose: str) -> None:
    assert len(purpose) <= 200, purpose
    with pytest.raises(BadUserInput) as refused:
        check_purpose(purpose, MIN_LENGTH)
    assert refused.value.message == NO_PERSONAL_DATA, purpose
    assert refused.value.field == "purpose"


@given(
    kind=st.sampled_from(["phone", "id", "pan"]),
    seed=st.integers(0, 2**32),
    before=st.sampled_from(SAFE_WORDS),
    after=st.sampled_from(SAFE_WORDS),
    data=st.data(),
)
def test_a_number_written_any_way_is_refused(
    kind: str, seed: int, before: str, after: str, data: st.DataObject
) -> None:
    number = _digits(_identifier(kind, seed), data)
    _refused_for_personal_data(f"{TICKET} {before} {number} {after}")


@given(
    local=st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12),
    domain=st.text(string.ascii_lowercase, min_size=1, max_size=12),
    top=st.sampled_from(["org", "com", "cn", "com.cn", "bank"]),
    at=st.sampled_from(AT_FORMS),
    dot=st.sampled_from(DOT_FORMS),
    full_width=st.booleans(),
)
def test_an_e_mail_address_written_any_way_is_refused(
    local: str, domain: str, top: str, at: str, dot: str, full_width: bool
) -> None:
    address = f"{local}{at}{domain}{dot}{top.replace('.', dot)}"
    _refused_for_personal_data(
        f"{TICKET} send to {_full_width(address) if full_width else address}"
    )


@given(
    domain=st.text(string.ascii_lowercase, min_size=1, max_size=12),
    dot=st.sampled_from(DOT_FORMS),
)
def test_the_domain_of_an_e_mail_address_alone_is_refused(domain: str, dot: str) -> None:
    _refused_for_personal_data(f"{TICKET} the customer's address at {domain}{dot}org")


@pytest.mark.parametrize(
    "purpose",
    [
        "verify 151-6012-7961 for ticket 99",
        "verify １５１６０１２７９６１ for ticket 99",
        "verify 151.6012.7961 for ticket 99",
        "send the statement to the customer at example.org",
        "ID 11010119900307123X does not match ticket 5",
        # read out as a number is in Chinese, in financial numerals, or split by other marks
        "核实 幺五幺六〇幺二七九六幺 工单 99",
        "核实 一五一六零一二七九六一 工单 99",
        "核实 壹伍壹陆零壹贰柒玖陆壹 工单 99",
        "verify 151*6012*7961 for ticket 99",
        "verify 151|6012|7961 for ticket 99",
        "verify 151:6012:7961 for ticket 99",
    ],
)
def test_the_purposes_the_penetration_test_got_through_are_refused(purpose: str) -> None:
    _refused_for_personal_data(purpose)


@pytest.mark.parametrize(
    "purpose",
    [
        "verifying the cardholder's identity for complaint ticket 4711",
        "核对持卡人身份，工单号 4711",
        "call back about the dispute of 2024-05-01, ticket #88",
        "customer asked on the phone at 10.30 to confirm the address, ticket 12",
        "e.g. ticket 77: the customer disputes the fee",
    ],
)
def test_ordinary_purposes_with_short_numbers_and_dates_pass(purpose: str) -> None:
    assert check_purpose(purpose, MIN_LENGTH) == purpose


def test_a_purpose_over_200_characters_is_refused_before_it_is_read() -> None:
    with pytest.raises(BadUserInput) as refused:
        check_purpose("verify the cardholder " + "x" * 200, MIN_LENGTH)
    assert refused.value.message == "purpose may be at most 200 characters"
    assert check_purpose("ticket 42 " + "y" * 190, MIN_LENGTH)


@pytest.mark.parametrize("purpose", ["asdfasdfasdfasdf", "ab" * 50, "核对" * 10])
def test_one_short_unit_repeated_still_says_nothing(purpose: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        check_purpose(purpose, MIN_LENGTH)
    assert refused.value.message == SAY_WHY
