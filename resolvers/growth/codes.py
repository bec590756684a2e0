"""One-time redemption codes of accepted offers.

A code is what a customer shows at the merchant's till, so it is short, unambiguous when read
aloud (no 0/O, 1/I/L) and random from the OS's CSPRNG. It is stored like other C2 values: the
clear code sealed in ``offer_assignments.code_enc`` and a keyed blind index in ``code_bidx``,
so a merchant's ``redeemOffer(code)`` finds its assignment without anything clear in the
database. ``normalize_code`` forgives case, spaces and dashes a cashier may type.
"""

from __future__ import annotations

import re
import secrets

from core.encryption import KeyRing
from models.growth.offer import OfferAssignment
from models.sealing import seal_field

CODE_INDEX = "offer_code"
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10  # 31**10 ≈ 8e14 codes: guessing one is hopeless at any rate limit
_SEPARATORS = re.compile(r"[\s\-]+")


def new_redemption_code() -> str:
    """A fresh code, printed in two groups of five (``7KQ2M-XW9PA``) for the cashier."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_code(code: str) -> str:
    return _SEPARATORS.sub("", code).upper()


def code_index(ring: KeyRing, code: str) -> bytes:
    """The blind index a code is looked up by."""
    return ring.blind_index(CODE_INDEX, normalize_code(code))


def issue_code(ring: KeyRing, assignment: OfferAssignment) -> str:
    """Gives an assignment a new code (sealed + indexed) and returns it in clear, once."""
    code = new_redemption_code()
    seal_field(ring, assignment, "code", code)
    assignment.code_bidx = code_index(ring, code)
    return code
