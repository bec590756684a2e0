"""The written purpose of a reveal (and the reason of a tier override): it must say something,
and it must not itself be personal data, since it is kept in the audit log in clear.

Checked in this order, each in time linear in the text and none with a regular expression:

1. length: at most ``text_limits.PURPOSE`` characters, before anything else looks at it;
2. says something: long enough (a CJK character counts about two letters), not a placeholder
   ("test", "n/a"), at least four distinct characters, not one short unit repeated;
3. holds no personal data, judged on the text as a person would read it (``readable``):
   NFKC (full-width and other compatibility forms become ASCII), any script's decimal digits
   and the CJK numerals (〇一二…九, 零 and 幺 as read out, the financial 壹贰叁…) as ASCII
   digits, invisible format characters dropped, "。", "．", "点", "(dot)" and " dot " as ".".
   Then it is refused if it holds
   - eleven or more digits in a row, separators between them ignored (spaces, dashes, dots,
     slashes, parentheses, "+", "·", "*", "|", ":" …): a mobile number, a national ID or a
     card number however it is grouped — ``151-6012-7961``, ``151.6012.7961``,
     ``１５１６０１２７９６１``;
   - an ``@`` between two letters or digits: an e-mail address;
   - a domain-like word (``label.label``, the last label two or more letters): the part of an
     e-mail address that names its domain, as in "… at example.org".
"""

from __future__ import annotations

import unicodedata

from core import text_limits
from core.errors import BadUserInput

_PLACEHOLDER_PURPOSES = {"test", "testing", "n/a", "na", "none", "purpose", "asdf", "check", "xxx"}
_LONGEST_REPEATED_UNIT = 6
_MIN_DISTINCT = 4
_DIGITS_OF_AN_IDENTIFIER = 11  # a mobile number; national IDs (18) and cards (16-19) are longer
# The CJK numerals, as a number is read out ("幺" for 1, "两" for 2, "零" for 0) and in the
# financial forms of receipts and cheques (壹贰叁…, traditional 貳參陸).
_CJK_DIGITS = {
    **dict(zip("〇一二三四五六七八九", "0123456789", strict=True)),
    **dict(zip("零壹贰叁肆伍陆柒捌玖", "0123456789", strict=True)),
    **{"幺": "1", "两": "2", "兩": "2", "貳": "2", "參": "3", "陸": "6"},
}
_DOTS = {"。": ".", "．": ".", "｡": ".", "点": "."}
_DOT_WORDS = ("(dot)", "[dot]", "{dot}", " dot ")
_INVISIBLE = frozenset({"Cf", "Mn", "Me"})  # zero-width and format characters, combining marks
_DIGIT_SEPARATORS = frozenset(" -./()+·・_,'*|:;~#=\\\"")
_DOMAIN_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
PURPOSE_RULE = (
    f"Why you need the clear values, kept in the audit log: at most {text_limits.PURPOSE}"
    " characters, saying something (e.g. the ticket and what you verify), and holding no"
    " personal data: no phone, ID or card number however grouped or written, no e-mail"
    " address or domain name."
)
SAY_WHY = "purpose must say why you need the clear value (e.g. the ticket and what you verify)"
NO_PERSONAL_DATA = (
    "purpose must not contain personal data: no phone, ID or card number (11 or more digits, "
    "however grouped), e-mail address or domain name; refer to the ticket instead"
)


def _weight(char: str) -> int:
    return 2 if "\u3400" <= char <= "\u9fff" else 1  # a CJK character says about two letters' worth


def _is_one_repeated_unit(text: str) -> bool:
    """Whether ``text`` is a unit of 1 to 6 characters written twice or more ("asdfasdf")."""
    length = len(text)
    return any(
        length >= 2 * size and length % size == 0 and text == text[:size] * (length // size)
        for size in range(1, _LONGEST_REPEATED_UNIT + 1)
    )


def _says_something(text: str, min_length: int) -> bool:
    compact = text.replace(" ", "").lower()
    return not (
        sum(_weight(c) for c in text) < min_length
        or text.lower().strip(" .!") in _PLACEHOLDER_PURPOSES
        or len(set(compact)) < _MIN_DISTINCT
        or _is_one_repeated_unit(compact)
    )


def _readable_char(char: str) -> str:
    if char in _CJK_DIGITS:
        return _CJK_DIGITS[char]
    if char in _DOTS:
        return _DOTS[char]
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    if char.isspace():
        return " "
    category = unicodedata.category(char)
    if category == "Pd":
        return "-"  # every dash
    return "" if category in _INVISIBLE else char


def readable(text: str) -> str:
    """``text`` as a reader takes it: see the module's docstring (step 3)."""
    normal = "".join(_readable_char(char) for char in unicodedata.normalize("NFKC", text))
    normal = f" {normal.lower()} "
    for word in _DOT_WORDS:
        normal = normal.replace(word, ".")
    return normal


def _longest_digit_run(text: str) -> int:
    """The most digits in a row, separators between them not breaking the row."""
    longest = run = 0
    for char in text:
        if "0" <= char <= "9":
            run += 1
            longest = max(longest, run)
        elif char not in _DIGIT_SEPARATORS:
            run = 0
    return longest


def _has_email_at(text: str) -> bool:
    return any(
        char == "@" and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
        for i, char in enumerate(text)
    )


def _is_domain_like(word: str) -> bool:
    labels = word.strip(".-").split(".")
    top = labels[-1]
    return len(labels) >= 2 and all(labels) and len(top) >= 2 and top.isascii() and top.isalpha()


def _has_domain(text: str) -> bool:
    word: list[str] = []
    for char in f"{text} ":
        if char in _DOMAIN_CHARACTERS:
            word.append(char)
            continue
        if word and _is_domain_like("".join(word)):
            return True
        word.clear()
    return False


def holds_personal_data(text: str) -> bool:
    """Whether ``text`` holds something shaped like a phone, ID or card number, an e-mail
    address or a domain; call it only on text already bounded in length."""
    normal = readable(text)
    return (
        _longest_digit_run(normal) >= _DIGITS_OF_AN_IDENTIFIER
        or _has_email_at(normal)
        or _has_domain(normal)
    )


def check_purpose(purpose: str, min_length: int) -> str:
    """The purpose with its whitespace collapsed, or BAD_USER_INPUT on ``purpose``."""
    text_limits.bounded("purpose", purpose, text_limits.PURPOSE)
    text = " ".join(purpose.split())
    if not _says_something(text, min_length):
        raise BadUserInput(SAY_WHY, field="purpose")
    if holds_personal_data(text):
        raise BadUserInput(NO_PERSONAL_DATA, field="purpose")
    return text
