"""Reading a customer file for ``cardcrm import customers``: what one line says, as a
``NewCustomer`` for the API's own checks (``NewCustomer.checked``), and the branch it goes to.

The file is read line by line like a transaction file (``resolvers.transactions.files``: the
same line counting, the same refusal of overlong lines and of CSV fields spanning lines), so
a line that cannot be read is one bad row and the rest goes on. One line is one customer:

* CSV, with a header row naming the columns (any order, case-insensitive). Required:
  ``customer_number``, ``name``, ``birth_date`` (YYYY-MM-DD), ``id_number``, ``phone``,
  ``branch_code``. Optional: ``gender`` (male, female, undisclosed), ``email``, ``address``,
  ``tier_code`` (default standard), ``tags`` (``;``-separated), ``consent_sms``,
  ``consent_email``, ``consent_push``, ``consent_phone`` (true/false, yes/no, 1/0; blank is
  false), ``do_not_disturb_start``, ``do_not_disturb_end``, ``preferred_channel``. Cards in
  numbered column groups ``card1_pan``, ``card1_credit_limit``, ``card1_product`` (optional),
  then ``card2_...`` and so on, as many groups as the widest customer needs; a group whose
  PAN is blank is no card.
* JSON Lines: one object per line with the same names, ``tags`` a list, ``consent`` an
  object (``sms``, ``email``, ``push``, ``phone``, ``do_not_disturb_start``,
  ``do_not_disturb_end``, ``preferred_channel``) and ``cards`` a list of objects (``pan``,
  ``credit_limit``, ``product``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from models.customers.customer import Gender
from resolvers.customers.input import Consent, NewCard, NewCustomer
from resolvers.transactions.files import FileFormat, TransactionFileError, csv_rows, jsonl_rows
from resolvers.transactions.rows import RawRow, RowError

REQUIRED = ("customer_number", "name", "birth_date", "id_number", "phone", "branch_code")
OPTIONAL = (
    "gender",
    "email",
    "address",
    "tier_code",
    "tags",
    "consent_sms",
    "consent_email",
    "consent_push",
    "consent_phone",
    "do_not_disturb_start",
    "do_not_disturb_end",
    "preferred_channel",
)
CONSENT_CHANNELS = ("sms", "email", "push", "phone")
CONSENT_TIMES = ("do_not_disturb_start", "do_not_disturb_end", "preferred_channel")
# Far above any valid value of any column (an address is at most 200 characters); the
# API's checks bound each field exactly, this only keeps a huge cell from being parsed.
MAX_CELL = 4000
_CARD_COLUMN = re.compile(r"card([1-9][0-9]{0,2})_(pan|credit_limit|product)")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})
_UNDECODABLE = re.compile(r"[\udc80-\udcff]")


class CustomerFileError(TransactionFileError):
    """The customer file as a whole cannot be imported (as opposed to one bad row)."""


@dataclass(frozen=True, slots=True)
class FileCustomer:
    """One line's customer, not yet checked, and the code of the branch it goes to."""

    position: int
    branch_code: str
    data: NewCustomer


def check_header(header: list[str]) -> None:
    """A CSV header must name the required columns, and each card group its PAN and limit."""
    missing = [name for name in REQUIRED if name not in header]
    groups = {found.group(1) for name in header if (found := _CARD_COLUMN.fullmatch(name))}
    for group in sorted(groups, key=int):
        missing.extend(
            f"card{group}_{part}"
            for part in ("pan", "credit_limit")
            if f"card{group}_{part}" not in header
        )
    unknown = [
        name
        for name in header
        if name not in REQUIRED and name not in OPTIONAL and not _CARD_COLUMN.fullmatch(name)
    ]
    if missing or unknown:
        raise CustomerFileError(
            "the CSV header must name the columns "
            + ", ".join(REQUIRED)
            + " (and optional ones, see `cardcrm import customers --help`); "
            + "; ".join(
                part
                for part in (
                    f"missing: {', '.join(missing)}" if missing else "",
                    f"unknown: {', '.join(unknown)}" if unknown else "",
                )
                if part
            )
        )


def customer_rows(lines: Iterable[str], file_format: FileFormat) -> Iterator[RawRow]:
    """The file's rows; a CSV header is checked at once (``CustomerFileError``)."""
    if file_format is FileFormat.CSV:
        return csv_rows(lines, check_header)
    return jsonl_rows(lines)


def _text(fields: Mapping[str, object], name: str) -> str | None:
    """The field's text, or None when absent or blank; anything but text is refused."""
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RowError(f"{name} must be text")
    if len(value) > MAX_CELL:
        raise RowError(f"{name} must be at most {MAX_CELL:,} characters")
    if _UNDECODABLE.search(value):
        raise RowError(f"{name} is not valid UTF-8")
    return value if value.strip() else None


def _required(fields: Mapping[str, object], name: str) -> str:
    value = _text(fields, name)
    if value is None:
        raise RowError(f"{name} is missing")
    return value


def _flag(fields: Mapping[str, object], name: str) -> bool:
    value = fields.get(name)
    if isinstance(value, bool):
        return value
    text = (_text(fields, name) or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RowError(f"{name} must be true or false")


def _birth_date(fields: Mapping[str, object]) -> date:
    text = _required(fields, "birth_date").strip()
    try:
        if len(text) != len("1990-03-07"):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise RowError("birth_date must be a date like 1990-03-07") from None


def _gender(fields: Mapping[str, object]) -> str:
    text = (_text(fields, "gender") or Gender.UNDISCLOSED.value).strip().lower()
    if text not in {gender.value for gender in Gender}:
        raise RowError("gender must be male, female or undisclosed")
    return text


def _tags(fields: Mapping[str, object]) -> tuple[str, ...]:
    value = fields.get("tags")
    if isinstance(value, list):
        if not all(isinstance(tag, str) for tag in value):
            raise RowError("tags must be a list of text")
        return tuple(value)
    text = _text(fields, "tags")
    return tuple(tag for tag in text.split(";") if tag.strip()) if text else ()


def _consent(fields: Mapping[str, object]) -> Consent:
    nested = fields.get("consent")
    if nested is not None and not isinstance(nested, dict):
        raise RowError("consent must be an object")
    source: Mapping[str, object] = (
        nested
        if nested is not None
        else {
            **{name: fields.get(f"consent_{name}") for name in CONSENT_CHANNELS},
            **{name: fields.get(name) for name in CONSENT_TIMES},
        }
    )
    return Consent(
        sms=_flag(source, "sms"),
        email=_flag(source, "email"),
        push=_flag(source, "push"),
        phone=_flag(source, "phone"),
        do_not_disturb_start=_text(source, "do_not_disturb_start"),
        do_not_disturb_end=_text(source, "do_not_disturb_end"),
        preferred_channel=_text(source, "preferred_channel"),
    )


def _card(fields: Mapping[str, object], label: str) -> NewCard | None:
    pan = _text(fields, "pan")
    if pan is None:
        return None
    limit_text = _text(fields, "credit_limit")
    if limit_text is None:
        raise RowError(f"{label} credit_limit is missing")
    try:
        limit = Decimal(limit_text.strip())
    except InvalidOperation:
        raise RowError(f"{label} credit_limit must be a number like 50000.00") from None
    return NewCard(pan=pan, product=_text(fields, "product") or "", credit_limit=limit)


def _cards(fields: Mapping[str, object]) -> tuple[NewCard, ...]:
    listed = fields.get("cards")
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(card, dict) for card in listed):
            raise RowError("cards must be a list of objects")
        found = [_card(card, f"cards[{i}]") for i, card in enumerate(listed)]
    else:
        groups = sorted({int(m.group(1)) for name in fields if (m := _CARD_COLUMN.fullmatch(name))})
        found = [
            _card(
                {
                    part: fields.get(f"card{n}_{part}")
                    for part in ("pan", "credit_limit", "product")
                },
                f"card{n}",
            )
            for n in groups
        ]
    return tuple(card for card in found if card is not None)


def file_customer(raw: RawRow) -> FileCustomer:
    """The line's customer as the API's input, or ``RowError`` naming what is missing or
    malformed; the API's own checks (``NewCustomer.checked``) come after."""
    if raw.problem is not None:
        raise RowError(raw.problem)
    fields = raw.fields
    data = NewCustomer(
        customer_number=_required(fields, "customer_number"),
        name=_required(fields, "name"),
        birth_date=_birth_date(fields),
        id_number=_required(fields, "id_number"),
        phone=_required(fields, "phone"),
        gender=_gender(fields),
        email=_text(fields, "email"),
        address=_text(fields, "address"),
        tier_code=(_text(fields, "tier_code") or "standard").strip(),
        consent=_consent(fields),
        cards=_cards(fields),
        tags=_tags(fields),
    )
    return FileCustomer(raw.position, _required(fields, "branch_code").strip(), data)
