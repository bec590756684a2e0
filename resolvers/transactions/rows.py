"""What one incoming card transaction is, and how it is checked (transaction_files reads files).

The file import (``cardcrm import transactions``) and the ``ingestTransactions`` mutation both
hand their rows to ``check_row``: one rule set, whatever the transport. Every field arrives as
text (a CSV cell, a JSON string, a GraphQL ``String``), so a malformed value rejects only its
own row, never the whole file or call.

Natural key (``natural_key``): a card network gives every transaction an id (its
*reference*); when a row carries one, the key is derived from (card, reference) alone, so a
corrected re-send of the same transaction (say, a fixed merchant name) is still recognised as
the one already stored, and two genuinely identical purchases (two coffees in the same
second) stay two transactions. Without a reference nothing better than the content is known,
so the key is a SHA-256 of the normalised row: card id, amount in cents, currency, merchant,
category, channel and the UTC time. Identical reference-less rows are then taken as one
transaction: a feed that can send true twins must send references. The card enters the key
as its id, never as the PAN, so the same transaction sent once by PAN and once by card id is
still one, and no card number is hashed into the table.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from core import text_limits
from core.money import yuan_text
from models.customers.identifiers import InvalidIdentifier, normalize_pan
from models.transactions.transaction import MerchantCategory, TransactionKind


class TransactionChannel(StrEnum):
    """Where the card was used."""

    POS = "pos"  # card present at a merchant's terminal (chip, swipe, contactless)
    ONLINE = "online"  # e-commerce, card not present
    MOBILE = "mobile"  # in-app, QR code or a phone wallet
    ATM = "atm"  # cash withdrawal


FIELDS = (
    "card_id",
    "pan",
    "amount",
    "currency",
    "merchant",
    "merchant_category",
    "channel",
    "time",
    "reference",
    "kind",
)
REQUIRED_FIELDS = ("amount", "merchant", "merchant_category", "channel", "time")
DEFAULT_CURRENCY = "CNY"
# Far above any card limit, and below the 2**31 cents an INTEGER column holds.
MAX_AMOUNT_CENTS = 1_000_000_000
MAX_MERCHANT = text_limits.MERCHANT
MAX_REFERENCE = text_limits.TRANSACTION_REFERENCE
# Clock skew a feed may have; a later time is a typo (a wrong year), not a purchase.
FUTURE_TOLERANCE = timedelta(days=1)
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)

_AMOUNT = re.compile(r"([0-9]{1,12})(?:\.([0-9]+))?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_REFERENCE = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces
_UNDECODABLE = re.compile(r"[\udc80-\udcff]")  # what surrogateescape makes of non-UTF-8 bytes
UNIT_SEPARATOR = "\x1f"  # cannot occur in a checked field, so the joined parts are unambiguous
E = TypeVar("E", bound=StrEnum)


class RowError(ValueError):
    """A row is refused; the message says why and is safe to print (it never echoes a PAN)."""


@dataclass(frozen=True, slots=True)
class RawRow:
    """A row as read: its position (file line or list index) and its fields as given."""

    position: int
    fields: Mapping[str, object]
    problem: str | None = None  # set when the line could not even be read as a row


@dataclass(frozen=True, slots=True)
class CheckedRow:
    """A row that passed every check; only its card remains to be found in the database."""

    position: int
    card_id: uuid.UUID | None
    pan: str | None
    amount_cents: int
    currency: str
    merchant: str
    category: MerchantCategory
    channel: TransactionChannel
    occurred_at: datetime
    reference: str | None
    kind: TransactionKind = TransactionKind.PURCHASE


def parse_amount(text: str) -> int:
    """``"123.45"`` (currency units, at most two decimals) → 12345 cents; refuses ≤ 0."""
    value = text.strip()
    if value.startswith("-"):
        raise RowError("amount must be positive; give a refund or repayment its kind instead")
    match = _AMOUNT.fullmatch(value)
    if match is None:
        raise RowError("amount must be a decimal number of currency units like 123.45")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > 2:
        raise RowError("amount must have at most 2 decimals")
    cents = int(whole) * 100 + int(fraction.ljust(2, "0"))
    if cents == 0:
        raise RowError("amount must be more than 0")
    if cents > MAX_AMOUNT_CENTS:
        raise RowError(f"amount is over {yuan_text(MAX_AMOUNT_CENTS)}, which no card allows")
    return cents


def parse_time(text: str, *, now: datetime) -> datetime:
    """An ISO 8601 time with a UTC offset, as UTC; a naive time is refused, not guessed."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RowError("time must be ISO 8601, e.g. 2026-03-01T12:30:00+08:00") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise RowError("time must carry a UTC offset, e.g. 2026-03-01T12:30:00+08:00")
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:
        raise RowError("time is out of range") from None
    if moment < EARLIEST_TIME:
        raise RowError("time is before 2000")
    if moment > now + FUTURE_TOLERANCE:
        raise RowError("time is in the future")
    return moment


def parse_card_id(text: str) -> uuid.UUID:
    """A card's UUID, or its Relay global ID (base64 of ``Card:<uuid>``, see schema/relay)."""
    value = text.strip()
    try:
        return uuid.UUID(value)
    except ValueError:
        pass
    try:
        type_name, raw_id = base64.b64decode(value, validate=True).decode().split(":", 1)
        if type_name == "Card":
            return uuid.UUID(raw_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise RowError("card_id must be a card's UUID or its global ID")


def _text(fields: Mapping[str, object], name: str) -> str | None:
    """The field's text, or None when absent or blank; anything but text is refused."""
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RowError(f"{name} must be text")
    if len(value) > text_limits.TRANSACTION_FIELD:  # before any pattern reads it
        raise RowError(f"{name} must be at most {text_limits.TRANSACTION_FIELD} characters")
    if _UNDECODABLE.search(value):
        raise RowError(f"{name} is not valid UTF-8")
    return value.strip() or None


def _required(fields: Mapping[str, object], name: str) -> str:
    value = _text(fields, name)
    if value is None:
        raise RowError(f"{name} is missing")
    return value


def _card(fields: Mapping[str, object]) -> tuple[uuid.UUID | None, str | None]:
    card_id, pan = _text(fields, "card_id"), _text(fields, "pan")
    if card_id is not None and pan is not None:
        raise RowError("give card_id or pan, not both")
    if card_id is not None:
        return parse_card_id(card_id), None
    if pan is None:
        raise RowError("card_id or pan is missing")
    try:
        return None, normalize_pan(pan)
    except InvalidIdentifier:
        raise RowError("pan is not a valid card number (16 to 19 digits, Luhn)") from None


def _merchant(text: str) -> str:
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if len(name) > MAX_MERCHANT:
        raise RowError(f"merchant must be at most {MAX_MERCHANT} characters")
    if not name.isprintable():
        raise RowError("merchant must not contain control characters")
    return name


def _choice(enum: type[E], name: str, text: str) -> E:
    try:
        return enum(text.lower())
    except ValueError:
        raise RowError(f"{name} {text[:32]!r} is not one of: {', '.join(enum)}") from None


def _currency(text: str | None) -> str:
    value = (text or DEFAULT_CURRENCY).upper()
    if not _CURRENCY.fullmatch(value):
        raise RowError("currency must be an ISO 4217 code of 3 letters, e.g. CNY")
    return value


def _reference(text: str | None) -> str | None:
    if text is not None and (len(text) > MAX_REFERENCE or not _REFERENCE.fullmatch(text)):
        raise RowError(f"reference must be 1 to {MAX_REFERENCE} printable characters, no spaces")
    return text


def check_row(raw: RawRow, *, now: datetime) -> CheckedRow:
    """The checked row, or ``RowError`` naming the first thing wrong with it."""
    if raw.problem is not None:
        raise RowError(raw.problem)
    fields = raw.fields
    card_id, pan = _card(fields)
    return CheckedRow(
        position=raw.position,
        card_id=card_id,
        pan=pan,
        amount_cents=parse_amount(_required(fields, "amount")),
        currency=_currency(_text(fields, "currency")),
        merchant=_merchant(_required(fields, "merchant")),
        category=_choice(
            MerchantCategory, "merchant_category", _required(fields, "merchant_category")
        ),
        channel=_choice(TransactionChannel, "channel", _required(fields, "channel")),
        occurred_at=parse_time(_required(fields, "time"), now=now),
        reference=_reference(_text(fields, "reference")),
        kind=_choice(TransactionKind, "kind", _text(fields, "kind") or TransactionKind.PURCHASE),
    )


def natural_key(card_id: uuid.UUID, row: CheckedRow) -> str:
    """The row's unique key in ``transactions.natural_key`` (see the module docstring)."""
    parts: tuple[str, ...]
    # A purchase's key is what it was before kinds existed, so a file imported then is still
    # known; a repayment or refund adds its kind, so it is never taken for a purchase.
    kinded = () if row.kind is TransactionKind.PURCHASE else (row.kind.value,)
    if row.reference is not None:
        kind, parts = "ref", (str(card_id), row.reference, *kinded)
    else:
        kind, parts = (
            "row",
            (
                str(card_id),
                str(row.amount_cents),
                row.currency,
                row.merchant,
                row.category.value,
                row.channel.value,
                row.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                *kinded,
            ),
        )
    return f"{kind}:{hashlib.sha256(UNIT_SEPARATOR.join(parts).encode()).hexdigest()}"
