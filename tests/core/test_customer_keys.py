"""The customer's own key (format 2): a customer's values open only with that customer's key,
in that cell, and nothing else opens them once the key is gone (crypto-shredding)."""

from __future__ import annotations

import os
import uuid

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.customer_key_cache import CustomerKeyCache
from core.encryption import (
    KEY_BYTES,
    NONCE_BYTES,
    CustomerKeyNotLoaded,
    DecryptionError,
    KeyRing,
    UnknownKeyVersion,
    aad_for,
    customer_of,
    key_version_of,
)

MODEST = settings(max_examples=200, deadline=None)
texts = st.text(max_size=300)


def ring(*versions: int) -> KeyRing:
    return KeyRing({v: DATA_KEYS[v] for v in versions}, INDEX_KEY)


DATA_KEYS = {1: os.urandom(KEY_BYTES), 2: os.urandom(KEY_BYTES)}
INDEX_KEY = os.urandom(KEY_BYTES)


def with_keys(*customers: uuid.UUID) -> tuple[KeyRing, dict[uuid.UUID, tuple[int, bytes]]]:
    keys_ring = ring(1)
    return keys_ring, {c: keys_ring.new_customer_key(c) for c in customers}


@MODEST
@given(text=texts, customer=st.uuids(), row_id=st.uuids())
@example(text="张三丰", customer=uuid.UUID(int=1), row_id=uuid.UUID(int=1))
def test_a_customer_value_opens_to_itself_and_names_its_customer(
    text: str, customer: uuid.UUID, row_id: uuid.UUID
) -> None:
    keys_ring, _ = with_keys(customer)
    aad = aad_for("customers", "name_enc", row_id)
    sealed = keys_ring.seal_for(customer, text, aad)
    assert keys_ring.open(sealed, aad) == text
    assert customer_of(sealed) == customer
    assert key_version_of(sealed) is None
    assert keys_ring.is_current(sealed)


@MODEST
@given(text=texts, customer=st.uuids(), row_id=st.uuids())
def test_a_stored_customer_key_opens_in_another_process_through_the_data_key(
    text: str, customer: uuid.UUID, row_id: uuid.UUID
) -> None:
    writer, keys = with_keys(customer)
    aad = aad_for("cards", "pan_enc", row_id)
    sealed = writer.seal_for(customer, text, aad)
    reader = ring(1)
    with pytest.raises(CustomerKeyNotLoaded):
        reader.open(sealed, aad)
    reader.open_customer_key(customer, *keys[customer])
    assert reader.open(sealed, aad) == text


@MODEST
@given(text=texts.filter(bool), row_id=st.uuids())
def test_a_value_does_not_open_under_another_customers_key_or_in_another_cell(
    text: str, row_id: uuid.UUID
) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    keys_ring, _ = with_keys(alice, bob)
    aad = aad_for("interactions", "notes_enc", row_id)
    sealed = keys_ring.seal_for(alice, text, aad)
    as_bobs = sealed[:1] + bob.bytes + sealed[17:]  # the header names Bob instead
    with pytest.raises(DecryptionError):
        keys_ring.open(as_bobs, aad)
    with pytest.raises(DecryptionError):
        keys_ring.open(sealed, aad_for("interactions", "notes_enc", uuid.uuid4()))


@MODEST
@given(text=texts, row_id=st.uuids(), other_text=texts)
def test_a_rows_opener_opens_exactly_what_open_opens_and_refuses_what_it_refuses(
    text: str, row_id: uuid.UUID, other_text: str
) -> None:
    """``opener_for`` (the planned path: one cipher lookup per row) is ``open`` for every
    value: the row's customer's, another customer's, one under a data key, a tampered one."""
    alice, bob = uuid.uuid4(), uuid.uuid4()
    keys_ring, _ = with_keys(alice, bob)
    aad = aad_for("customers", "name_enc", row_id)
    opener = keys_ring.opener_for(alice)
    alices, bobs = keys_ring.seal_for(alice, text, aad), keys_ring.seal_for(bob, other_text, aad)
    under_data_key = keys_ring.seal(other_text, aad)
    assert opener(alices, aad) == keys_ring.open(alices, aad) == text
    assert opener(bobs, aad) == other_text
    assert opener(under_data_key, aad) == other_text
    tampered = alices[:-1] + bytes([alices[-1] ^ 1])
    with pytest.raises(DecryptionError):
        opener(tampered, aad)
    with pytest.raises(DecryptionError):
        opener(alices, aad_for("customers", "name_enc", uuid.uuid4()))
    as_bobs = alices[:1] + bob.bytes + alices[17:]
    with pytest.raises(DecryptionError):
        opener(as_bobs, aad)
    assert keys_ring.opener_for(uuid.uuid4()) == keys_ring.open  # no key opened: as ``open``


def test_a_wrapped_customer_key_opens_only_for_its_own_customer() -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    _, keys = with_keys(alice)
    with pytest.raises(DecryptionError, match="not theirs"):
        ring(1).open_customer_key(bob, *keys[alice])


def test_once_the_key_is_gone_no_data_key_opens_the_value() -> None:
    customer = uuid.uuid4()
    keys_ring, _ = with_keys(customer)
    aad = aad_for("customers", "phone_enc", customer)
    sealed = keys_ring.seal_for(customer, "13812345678", aad)
    keys_ring.forget_customer(customer)  # erasure: the stored key row is deleted too

    with pytest.raises(CustomerKeyNotLoaded):
        keys_ring.open(sealed, aad)
    body = sealed[17:]
    for data_key in DATA_KEYS.values():  # every data key, tried as the value's key directly
        with pytest.raises(InvalidTag):
            AESGCM(data_key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], sealed[:17] + aad)


def test_rotation_rewraps_a_customer_key_without_changing_it() -> None:
    customer = uuid.uuid4()
    old, keys = with_keys(customer)
    aad = aad_for("complaints", "description_enc", uuid.uuid4())
    sealed = old.seal_for(customer, "账单有误", aad)
    rotated = ring(1, 2)
    rewrapped = rotated.rewrap_customer_key(customer, *keys[customer])

    only_v2 = ring(2)
    only_v2.open_customer_key(customer, 2, rewrapped)
    assert only_v2.open(sealed, aad) == "账单有误"
    with pytest.raises(UnknownKeyVersion):
        ring(2).open_customer_key(customer, *keys[customer])


def test_the_key_cache_drops_the_least_recently_used_key_first() -> None:
    cache = CustomerKeyCache(capacity=2)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    cache.put(first, os.urandom(KEY_BYTES))
    cache.put(second, os.urandom(KEY_BYTES))
    assert cache.get(first) is not None  # first is now the most recently used
    cache.put(third, os.urandom(KEY_BYTES))
    assert cache.get(second) is None
    assert cache.get(first) is not None
    assert len(cache) == 2
