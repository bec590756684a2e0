"""Validation of customer input: one function per rule, shared by the API and the seeder.

Identifiers are normalised by ``models.customers.identifiers`` (GB 11643 check digit, Luhn, mobile
format); any failure becomes BAD_USER_INPUT naming the field and how to fix it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from core import text_limits
from core.errors import BadUserInput
from core.money import cents_of, yuan
from models.customers.identifiers import (
    InvalidIdentifier,
    normalize_customer_number,
    normalize_email,
    normalize_mobile,
    normalize_name,
    normalize_national_id,
    normalize_pan,
)
from resolvers.purpose import holds_personal_data

_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")  # fullmatch: "$" would let "\n" in
MAX_ADDRESS = text_limits.ADDRESS
_TAG_PUNCTUATION = frozenset("-_:")
TAGS_RULE = (
    f"At most {text_limits.TAGS} tags, each 1 to {text_limits.TAG} characters: letters of any"
    " script (CJK included), digits 0-9, `-`, `_` and `:` (e.g. `vip`, `高净值`, `campaign:2024`);"
    " NFKC-normalised (full-width letters become ASCII), duplicates dropped; no tag may hold"
    " a phone, ID or card number (11 or more digits, however grouped): tags are shown in clear."
)


# The longest text each identifier takes as typed, checked before it is normalised.
_MAXIMA: dict[Callable[[str], str], int] = {
    normalize_name: text_limits.NAME,
    normalize_mobile: text_limits.PHONE,
    normalize_national_id: text_limits.ID_NUMBER,
    normalize_email: text_limits.EMAIL,
    normalize_pan: text_limits.PAN,
    normalize_customer_number: text_limits.CUSTOMER_NUMBER,
}


def checked(field_name: str, normalize: Callable[[str], str], value: str) -> str:
    """``normalize(value)``, its length bounded first; InvalidIdentifier is BAD_USER_INPUT."""
    text_limits.bounded(field_name, value, _MAXIMA.get(normalize, text_limits.NOTES))
    try:
        return normalize(value)
    except InvalidIdentifier as exc:
        raise BadUserInput(f"{field_name}: {exc}", field=field_name) from exc


def checked_address(value: str) -> str:
    text_limits.bounded("address", value, text_limits.ADDRESS)
    address = " ".join(value.split())
    if not 1 <= len(address) <= MAX_ADDRESS:
        raise BadUserInput(f"address must be 1 to {MAX_ADDRESS} characters", field="address")
    return address


def checked_time(field_name: str, value: str | None) -> str | None:
    if value is not None and (len(value) > text_limits.TIME_OF_DAY or not _TIME.fullmatch(value)):
        raise BadUserInput(f"{field_name} must be a 24-hour time like 21:30", field=field_name)
    return value


def _is_tag_character(char: str) -> bool:
    return "0" <= char <= "9" or char in _TAG_PUNCTUATION or unicodedata.category(char)[0] == "L"


def checked_tag(field_name: str, value: str) -> str:
    text_limits.bounded(field_name, value, text_limits.TAG)
    tag = unicodedata.normalize("NFKC", value).strip()
    if not tag or len(tag) > text_limits.TAG or not all(map(_is_tag_character, tag)):
        raise BadUserInput(
            f"{field_name} must be 1 to {text_limits.TAG} letters, digits 0-9, '-', '_' or ':'",
            field=field_name,
        )
    if holds_personal_data(tag):  # a tag is shown in clear to every role that sees the customer
        raise BadUserInput(
            f"{field_name} must not hold a phone, ID or card number", field=field_name
        )
    return tag


def checked_tags(tags: Sequence[str]) -> tuple[str, ...]:
    """The tags, each checked (``TAGS_RULE``), in their order, each once."""
    if len(tags) > text_limits.TAGS:
        raise BadUserInput(f"tags may hold at most {text_limits.TAGS} tags", field="tags")
    return tuple(dict.fromkeys(checked_tag(f"tags[{i}]", tag) for i, tag in enumerate(tags)))


@dataclass(frozen=True)
class Consent:
    sms: bool = False
    email: bool = False
    push: bool = False
    phone: bool = False
    do_not_disturb_start: str | None = None
    do_not_disturb_end: str | None = None
    preferred_channel: str | None = None

    def checked(self) -> Consent:
        checked_time("consent.doNotDisturbStart", self.do_not_disturb_start)
        checked_time("consent.doNotDisturbEnd", self.do_not_disturb_end)
        if self.preferred_channel is not None:  # its column holds 16 characters
            text_limits.bounded(
                "consent.preferredChannel", self.preferred_channel, text_limits.CHANNEL
            )
        return self


@dataclass(frozen=True)
class NewCard:
    pan: str
    product: str
    credit_limit: Decimal

    def checked(self, index: int) -> NewCard:
        prefix = f"cards[{index}]"
        return NewCard(
            pan=checked(f"{prefix}.pan", normalize_pan, self.pan),
            product=text_limits.bounded(
                f"{prefix}.product", self.product.strip(), text_limits.CARD_PRODUCT
            )
            or "UnionPay Classic",
            credit_limit=yuan(cents_of(f"{prefix}.creditLimit", self.credit_limit)),
        )


@dataclass(frozen=True)
class NewCustomer:
    name: str
    birth_date: date
    id_number: str
    phone: str
    gender: str = "undisclosed"
    email: str | None = None
    address: str | None = None
    branch_id: object | None = None
    tier_code: str = "standard"
    consent: Consent = field(default_factory=Consent)
    cards: tuple[NewCard, ...] = ()
    tags: tuple[str, ...] = ()
    # The bank's own customer number, if the bank gave one (imports always do).
    customer_number: str | None = None

    def checked(self) -> NewCustomer:
        id_number = checked("idNumber", normalize_national_id, self.id_number)
        if id_number[6:14] != self.birth_date.strftime("%Y%m%d"):
            raise BadUserInput("birthDate does not match the national ID number", field="birthDate")
        return NewCustomer(
            name=checked("name", normalize_name, self.name),
            birth_date=self.birth_date,
            id_number=id_number,
            phone=checked("phone", normalize_mobile, self.phone),
            gender=self.gender,
            email=None if self.email is None else checked("email", normalize_email, self.email),
            address=None if self.address is None else checked_address(self.address),
            branch_id=self.branch_id,
            tier_code=self.tier_code,
            consent=self.consent.checked(),
            cards=tuple(card.checked(i) for i, card in enumerate(self.cards)),
            tags=checked_tags(self.tags),
            customer_number=None
            if self.customer_number is None
            else checked("customerNumber", normalize_customer_number, self.customer_number),
        )
