"""Validation, normalisation and generation of Chinese personal identifiers.

One module serves both input validation and demo data, so that every generated
value is by construction something the validators accept (and the tests prove it).
All patterns use explicit ``[0-9]`` rather than ``\\d``: ``\\d`` also matches
full-width and other Unicode digits, which would let visually odd values through.
"""

from __future__ import annotations

import datetime
import random
import re
import unicodedata

from core.text_limits import NAME

__all__ = [
    "BIRTHDAY_INDEX",
    "InvalidIdentifier",
    "birthday_key",
    "generate_mobile",
    "generate_national_id",
    "generate_unionpay_pan",
    "luhn_check_digit",
    "luhn_valid",
    "national_id_birth_date",
    "national_id_check_char",
    "national_id_is_male",
    "normalize_customer_number",
    "normalize_email",
    "normalize_mobile",
    "normalize_name",
    "normalize_national_id",
    "normalize_pan",
]


class InvalidIdentifier(ValueError):
    """An identifier failed validation; the message tells the user how to fix it.

    Subclassing ValueError lets generic input layers (pydantic, GraphQL
    resolvers) treat it as ordinary bad input without knowing this module.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_SEPARATORS = re.compile(r"[\s\-]+")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_NATIONAL_ID = re.compile(r"[0-9]{17}[0-9X]")
_DIGITS = re.compile(r"[0-9]+")
_CUSTOMER_NUMBER = re.compile(r"[A-Z0-9]{4,32}")
_PAN_LENGTHS = range(16, 20)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_MAP = "10X98765432"
_ID_EARLIEST_BIRTH = datetime.date(1900, 1, 1)

# Real, currently issued mainland mobile prefixes, so demo numbers look plausible.
_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "166", "173", "177", "180", "181", "182", "183", "185", "186",
    "187", "188", "189", "191", "198", "199",
)  # fmt: skip

_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]{1,64}")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?")
_TLD = re.compile(r"[a-z]{2,63}")
_NAME_MAX = NAME


def _compact(value: str) -> str:
    """Drop the spaces and dashes people type to group digits."""
    return _SEPARATORS.sub("", value)


# --- mobile -----------------------------------------------------------------


def normalize_mobile(value: str) -> str:
    """Return the bare 11-digit mainland mobile number.

    Accepts grouping spaces/dashes and a ``+86``/``86`` country prefix because
    that is how numbers arrive from forms and call-centre notes.
    """
    compact = _compact(value)
    if compact.startswith("+86"):
        compact = compact[3:]
    elif compact.startswith("86") and len(compact) == 13:
        compact = compact[2:]
    if not _MOBILE.fullmatch(compact):
        raise InvalidIdentifier(
            "mobile number must be 11 digits starting with 13-19 "
            "(optionally prefixed by +86), e.g. 13812345678"
        )
    return compact


def generate_mobile(rng: random.Random) -> str:
    """A random but valid mobile number using a real carrier prefix."""
    prefix = rng.choice(_MOBILE_PREFIXES)
    return prefix + "".join(rng.choice("0123456789") for _ in range(8))


# --- national ID ------------------------------------------------------------


def national_id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits (GB 11643-1999)."""
    if not re.fullmatch(r"[0-9]{17}", first17):
        raise InvalidIdentifier("national ID body must be exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_MAP[total % 11]


def _parse_birth_date(digits: str, today: datetime.date) -> datetime.date:
    """Validate the YYYYMMDD birth date embedded in an ID.

    A real, plausible date is a cheap second check that catches transposed
    digits the check character can miss.
    """
    try:
        born = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidIdentifier(
            f"national ID birth date {digits} (characters 7-14) is not a real date"
        ) from None
    if born < _ID_EARLIEST_BIRTH:
        raise InvalidIdentifier(f"national ID birth date {born} is before 1900")
    if born > today:
        raise InvalidIdentifier(f"national ID birth date {born} is in the future")
    return born


def normalize_national_id(value: str, *, today: datetime.date | None = None) -> str:
    """Return the 18-character resident ID with an upper-case ``X`` check character.

    ``today`` exists so tests can pin the "not in the future" rule.
    """
    compact = _compact(value).upper()
    if not _NATIONAL_ID.fullmatch(compact):
        raise InvalidIdentifier(
            "national ID must be 18 characters: 17 digits followed by a digit or X"
        )
    _parse_birth_date(compact[6:14], today or datetime.date.today())
    expected = national_id_check_char(compact[:17])
    if compact[17] != expected:
        raise InvalidIdentifier(f"national ID check digit is wrong: expected {expected}")
    return compact


def national_id_birth_date(national_id: str) -> datetime.date:
    """Birth date encoded in a (normalised) national ID."""
    digits = normalize_national_id(national_id)[6:14]
    return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def national_id_is_male(national_id: str) -> bool:
    """Sex encoded by the parity of the 17th character: odd means male."""
    return int(normalize_national_id(national_id)[16]) % 2 == 1


def generate_national_id(
    rng: random.Random,
    birth_date: datetime.date,
    region_code: str = "110105",
    male: bool | None = None,
) -> str:
    """A valid ID for the given birth date and region; sex random unless given."""
    if not re.fullmatch(r"[1-9][0-9]{5}", region_code):
        raise InvalidIdentifier("region code must be 6 digits not starting with 0, e.g. 110105")
    if birth_date < _ID_EARLIEST_BIRTH:
        raise InvalidIdentifier(f"birth date {birth_date} is before 1900")
    if male is None:
        male = rng.random() < 0.5
    sequence = _sequence_code(rng, male)
    first17 = f"{region_code}{birth_date:%Y%m%d}{sequence}"
    return first17 + national_id_check_char(first17)


def _sequence_code(rng: random.Random, male: bool) -> str:
    """Three-digit order code, never ``000``, whose last digit's parity is the sex."""
    sex_digits = "13579" if male else "02468"
    while True:
        code = f"{rng.randrange(100):02d}{rng.choice(sex_digits)}"
        if code != "000":
            return code


# --- card number ------------------------------------------------------------


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` pass the Luhn check."""
    if not _DIGITS.fullmatch(partial):
        raise InvalidIdentifier("Luhn input must be a non-empty string of digits")
    total = 0
    for position, char in enumerate(reversed(partial)):
        digit = int(char)
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit >= 5 else digit * 2
        total += digit
    return str(-total % 10)


def luhn_valid(pan: str) -> bool:
    """True when the digit string passes Luhn; never raises, so usable as a predicate."""
    if len(pan) < 2 or not _DIGITS.fullmatch(pan):
        return False
    return luhn_check_digit(pan[:-1]) == pan[-1]


def normalize_pan(value: str) -> str:
    """Return the bare card number (16-19 digits) after a Luhn check."""
    compact = _compact(value)
    if not _DIGITS.fullmatch(compact) or len(compact) not in _PAN_LENGTHS:
        raise InvalidIdentifier("card number must be 16 to 19 digits (spaces and dashes allowed)")
    if not luhn_valid(compact):
        expected = luhn_check_digit(compact[:-1])
        raise InvalidIdentifier(f"card number check digit is wrong: expected {expected}")
    return compact


def generate_unionpay_pan(rng: random.Random, bin6: str = "622848", length: int = 16) -> str:
    """A Luhn-valid card number starting with the given 6-digit BIN."""
    if not re.fullmatch(r"[0-9]{6}", bin6):
        raise InvalidIdentifier("BIN must be exactly 6 digits, e.g. 622848")
    if length not in _PAN_LENGTHS:
        raise InvalidIdentifier("card number length must be between 16 and 19")
    body = bin6 + "".join(rng.choice("0123456789") for _ in range(length - 7))
    return body + luhn_check_digit(body)


# --- the bank's customer number ----------------------------------------------


def normalize_customer_number(value: str) -> str:
    """The bank's own customer number (core banking's CIF number): 4 to 32 ASCII letters
    and digits, upper-cased, grouping spaces and dashes dropped.

    Banks format them differently (``CIF-0001-2345``, ``cif00012345``), so only the
    characters that carry meaning are kept, and the same number typed two ways is one.
    """
    compact = _compact(value).upper()
    if not _CUSTOMER_NUMBER.fullmatch(compact):
        raise InvalidIdentifier(
            "customer number must be 4 to 32 letters A-Z and digits 0-9 "
            "(spaces and dashes allowed), e.g. CIF00012345"
        )
    return compact


# --- email and name ---------------------------------------------------------


def normalize_email(value: str) -> str:
    """Strip and lower-case the domain; the local part keeps its case (RFC 5321).

    Deliberately simple: it rejects typos (no ``@``, spaces, missing TLD), not
    every exotic-but-legal address, which nobody enters into a card application.
    """
    local, at, domain = value.strip().rpartition("@")
    domain = domain.lower()
    if not at or not _valid_local(local) or not _valid_domain(domain):
        raise InvalidIdentifier("email must look like name@example.com (no spaces, one @)")
    return f"{local}@{domain}"


def _valid_local(local: str) -> bool:
    """Dot-atom local part: allowed characters, no leading/trailing/double dots."""
    return (
        bool(_EMAIL_LOCAL.fullmatch(local))
        and not local.startswith(".")
        and not local.endswith(".")
        and ".." not in local
    )


def _valid_domain(domain: str) -> bool:
    """At least two ASCII labels and an alphabetic top-level domain."""
    labels = domain.split(".")
    return (
        len(domain) <= 253
        and len(labels) >= 2
        and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        and bool(_TLD.fullmatch(labels[-1]))
    )


def normalize_name(value: str) -> str:
    """NFC-normalise, strip and collapse whitespace; 1 to 100 characters.

    NFC makes visually identical names compare (and search) equal.
    """
    collapsed = " ".join(unicodedata.normalize("NFC", value).split())
    if not collapsed:
        raise InvalidIdentifier("name must not be empty")
    if len(collapsed) > _NAME_MAX:
        raise InvalidIdentifier(f"name must be at most {_NAME_MAX} characters")
    if not collapsed.isprintable():
        raise InvalidIdentifier("name must not contain control characters")
    return collapsed


# The blind index of a customer's birthday ("MM-DD"), so the daily birthday care finds its
# customers by one HMAC and an indexed equality (customers.birthday_bidx).
BIRTHDAY_INDEX = "birthday"


def birthday_key(day: datetime.date) -> str:
    """A birthday as the index holds it: month and day, "MM-DD"."""
    return f"{day.month:02d}-{day.day:02d}"
