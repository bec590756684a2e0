"""The product's masking formats: the one place they are defined.

Masking is applied to *stored* data on the way out, so it must cope with values
that predate today's validation rules: every function is total (never raises),
works structurally rather than validating, and on odd input falls back to a
form that reveals no more than the normal one. As a last line of defence,
``_never_reveal`` replaces any output that would still contain the clear value.

It deliberately imports nothing from ``models`` so the policy layer can use it
without dragging in persistence code (and without import cycles).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

__all__ = [
    "MaskKind",
    "mask",
    "mask_address",
    "mask_birth_date",
    "mask_customer_number",
    "mask_email",
    "mask_id_number",
    "mask_name",
    "mask_pan",
    "mask_phone",
    "mask_text",
]


class MaskKind(StrEnum):
    """Which display rule a field uses; string values so policies can live in config."""

    NAME = "name"
    PHONE = "phone"
    ID_NUMBER = "id_number"
    PAN = "pan"
    EMAIL = "email"
    ADDRESS = "address"
    BIRTH_DATE = "birth_date"
    CUSTOMER_NUMBER = "customer_number"
    TEXT = "text"


# Fixed width so that masked free text and addresses do not leak their length.
_HIDDEN = "******"
_SEPARATORS = re.compile(r"[\s\-]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")
_MOBILE = re.compile(r"1[0-9]{10}")
_NATIONAL_ID = re.compile(r"[0-9]{17}[0-9Xx]")
_PAN_LENGTHS = range(16, 20)
_ADDRESS_MARKERS = "省市区县"
_ADDRESS_SCAN = 10
_DATE_PATTERNS = (
    (re.compile(r"([0-9]{4})([-/.])[0-9]{1,2}\2[0-9]{1,2}"), "{0}{1}**{1}**"),
    (re.compile(r"([0-9]{4})年[0-9]{1,2}月[0-9]{1,2}日"), "{0}年**月**日"),
    (re.compile(r"([0-9]{4})[0-9]{4}"), "{0}****"),
)


def _is_cjk(char: str) -> bool:
    """CJK ideographs (basic, extension A, compatibility, supplementary planes)."""
    code = ord(char)
    return (
        0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x3134F
    )


def _has_cjk(value: str) -> bool:
    return any(_is_cjk(char) for char in value)


def _compact(value: str) -> str:
    """Drop grouping spaces/dashes so formatted numbers mask like bare ones."""
    return _SEPARATORS.sub("", value)


def _mask_tail(value: str) -> str:
    """Generic fallback: only the last 4 characters, and only if at least 8 long."""
    if len(value) >= 8:
        return "*" * (len(value) - 4) + value[-4:]
    return "*" * len(value)


def _never_reveal(clear: str, masked: str) -> str:
    """Safety net: no rule may ever hand back the whole clear value."""
    if clear and clear in masked:
        return _HIDDEN
    return masked


def mask_name(value: str) -> str:
    """张三丰 → 张*丰, 李四 → 李*, John Smith → J*** S****."""
    clear = value.strip()
    if not clear:
        return ""
    if _has_cjk(clear):
        return _never_reveal(clear, _mask_chinese_name("".join(clear.split())))
    words = clear.split()
    return _never_reveal(clear, " ".join(word[0] + "*" * (len(word) - 1) for word in words))


def _mask_chinese_name(name: str) -> str:
    """Keep the surname character and, for 3+ characters, the last one."""
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(value: str) -> str:
    """13812345678 → 138****5678 (a +86/86 prefix and separators are dropped)."""
    clear = value.strip()
    digits = _compact(clear)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if _MOBILE.fullmatch(digits):
        return _never_reveal(clear, digits[:3] + "****" + digits[-4:])
    return _never_reveal(clear, _mask_tail(clear))


def mask_id_number(value: str) -> str:
    """110101199003071234 → 110***********1234: province digits and last 4 only."""
    clear = value.strip()
    compact = _compact(clear)
    if _NATIONAL_ID.fullmatch(compact):
        return _never_reveal(clear, compact[:3] + "*" * 11 + compact[-4:].upper())
    return _never_reveal(clear, _mask_tail(compact))


def mask_pan(value: str, *, strict: bool = False) -> str:
    """6228480012345678 → 622848******5678; strict → ************5678.

    The BIN (first 6) identifies the issuer/product and is shown only to roles
    allowed to see it; ``strict`` is for everyone else.
    """
    clear = value.strip()
    digits = _compact(clear)
    if not _ASCII_DIGITS.fullmatch(digits) or len(digits) not in _PAN_LENGTHS:
        return _never_reveal(clear, _mask_tail(digits))
    if strict:
        return _never_reveal(clear, "*" * (len(digits) - 4) + digits[-4:])
    return _never_reveal(clear, digits[:6] + "*" * (len(digits) - 10) + digits[-4:])


def mask_email(value: str) -> str:
    """zhangsan@example.com → z*******@example.com: the domain stays readable."""
    clear = value.strip()
    if not clear:
        return ""
    local, at, domain = clear.rpartition("@")
    if not at:
        return _never_reveal(clear, _mask_local(clear))
    if not local:
        return _HIDDEN
    return _never_reveal(clear, f"{_mask_local(local)}@{domain}")


def _mask_local(local: str) -> str:
    """First character then one ``*`` per remaining one; a 1-char part is fully hidden."""
    if len(local) <= 1:
        return "*" * len(local)
    return local[0] + "*" * (len(local) - 1)


def mask_address(value: str) -> str:
    """北京市朝阳区建国路88号 → 北京市朝阳区******: the district, never the street."""
    clear = value.strip()
    if not clear:
        return ""
    prefix = _chinese_address_prefix(clear) if _has_cjk(clear) else _latin_address_prefix(clear)
    if len(prefix) >= len(clear):
        prefix = clear[: len(clear) // 2]
    return _never_reveal(clear, prefix + _HIDDEN)


def _chinese_address_prefix(address: str) -> str:
    """Through the last 省/市/区/县 in the first 10 characters, else 3 characters."""
    head = address[:_ADDRESS_SCAN]
    end = max(head.rfind(marker) for marker in _ADDRESS_MARKERS)
    return address[: end + 1] if end >= 0 else address[:3]


def _latin_address_prefix(address: str) -> str:
    """Text before the first comma, else the first 3 characters."""
    before, comma, _ = address.partition(",")
    return before.strip() if comma else address[:3]


def mask_birth_date(value: str) -> str:
    """1990-03-07 → 1990-**-**: the year alone is enough for age checks."""
    clear = value.strip()
    for pattern, template in _DATE_PATTERNS:
        match = pattern.fullmatch(clear)
        if match:
            return _never_reveal(clear, template.format(*match.groups()))
    return _never_reveal(clear, "*" * len(clear))


def mask_customer_number(value: str) -> str:
    """CIF00012345 → *******2345: the last 4, which staff read back to confirm a caller."""
    clear = value.strip()
    return _never_reveal(clear, _mask_tail(_compact(clear)))


def mask_text(value: str) -> str:
    """Free text: always ``******`` so not even its length leaks."""
    return _HIDDEN if value.strip() else ""


_MASKERS: dict[MaskKind, Callable[[str], str]] = {
    MaskKind.NAME: mask_name,
    MaskKind.PHONE: mask_phone,
    MaskKind.ID_NUMBER: mask_id_number,
    MaskKind.EMAIL: mask_email,
    MaskKind.ADDRESS: mask_address,
    MaskKind.BIRTH_DATE: mask_birth_date,
    MaskKind.CUSTOMER_NUMBER: mask_customer_number,
    MaskKind.TEXT: mask_text,
}


def mask(kind: MaskKind, value: str, *, strict: bool = False) -> str:
    """Mask ``value`` by the rule for ``kind``; ``strict`` only affects PAN."""
    if kind == MaskKind.PAN:
        return mask_pan(value, strict=strict)
    return _MASKERS[kind](value)
