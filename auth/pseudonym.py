"""The stable pseudonym a partner merchant sees instead of a customer's id.

A merchant must be able to tell its returning customers apart (the same person redeeming
twice gets the same pseudonym) but must never learn who they are, nor be able to join its
data with another merchant's. So the pseudonym is a keyed HMAC (the key ring's blind-index
key) of the merchant id *and* the customer id: without the key it cannot be computed or
reversed, and the same customer has unrelated pseudonyms at two merchants.

80 bits of the HMAC, in lowercase base32, make a 16-character handle such as
``cust_k5q2m7xw9pa3d4ef``: short enough to read on a till receipt, and collisions between a
merchant's customers are out of reach (a 50% chance needs about 10^12 customers).
"""

from __future__ import annotations

import base64
import uuid

from core.encryption import KeyRing

PSEUDONYM_INDEX = "merchant_pseudonym"
PREFIX = "cust_"
_DIGEST_BYTES = 10  # 80 bits → exactly 16 base32 characters, no padding


def customer_pseudonym(ring: KeyRing, *, merchant_id: uuid.UUID, customer_id: uuid.UUID) -> str:
    """The pseudonym of ``customer_id`` as ``merchant_id`` sees it; the same every time."""
    digest = ring.blind_index(PSEUDONYM_INDEX, f"{merchant_id}:{customer_id}")
    return PREFIX + base64.b32encode(digest[:_DIGEST_BYTES]).decode().lower()
