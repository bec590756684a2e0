"""Column encryption: the AES-256-GCM envelope, its associated data, the blind index and the
wrapping of data keys by the master key."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.encryption import (
    BLIND_INDEX_KEY,
    DATA_KEY,
    KEY_BYTES,
    NONCE_BYTES,
    DecryptionError,
    KeyRing,
    LocalMasterKey,
    aad_for,
    key_version_of,
    key_wrap_context,
)

HEADER_BYTES = 5  # format byte + 32-bit key version
TAG_BYTES = 16
MODEST = settings(max_examples=200, deadline=None)

texts = st.text(max_size=300)
row_ids = st.uuids()
tables = st.sampled_from(["customers", "cards", "complaints", "interactions"])
columns = st.sampled_from(["name_enc", "phone_enc", "id_number_enc", "pan_enc", "notes_enc"])


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


DATA_KEY_V1, DATA_KEY_V2, INDEX_KEY = new_key(), new_key(), new_key()
RING = KeyRing({1: DATA_KEY_V1}, INDEX_KEY)
ROTATED_RING = KeyRing({1: DATA_KEY_V1, 2: DATA_KEY_V2}, INDEX_KEY)
ALICE_CELL = aad_for("customers", "phone_enc", uuid.UUID(int=1))


@MODEST
@given(text=texts, table=tables, column=columns, row_id=row_ids)
@example(text="", table="customers", column="name_enc", row_id=uuid.UUID(int=0))
@example(text="张三丰", table="customers", column="name_enc", row_id=uuid.UUID(int=1))
@example(
    text="北京市朝阳区建国路88号 🏦",
    table="customers",
    column="address_enc",
    row_id=uuid.UUID(int=2),
)
@example(
    text="投诉内容" * 20_000, table="complaints", column="description_enc", row_id=uuid.UUID(int=3)
)
def test_any_text_seals_and_opens_to_itself(
    text: str, table: str, column: str, row_id: uuid.UUID
) -> None:
    aad = aad_for(table, column, row_id)
    sealed = RING.seal(text, aad)
    assert RING.open(sealed, aad) == text
    assert len(sealed) == HEADER_BYTES + NONCE_BYTES + len(text.encode()) + TAG_BYTES


@MODEST
@given(text=texts)
def test_sealing_the_same_value_twice_gives_different_ciphertexts(text: str) -> None:
    first, second = RING.seal(text, ALICE_CELL), RING.seal(text, ALICE_CELL)
    assert first != second
    nonce = slice(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES)
    assert first[nonce] != second[nonce]


@MODEST
@given(text=texts)
def test_every_ciphertext_names_the_active_key_version_in_its_header(text: str) -> None:
    assert key_version_of(RING.seal(text, ALICE_CELL)) == 1
    assert key_version_of(ROTATED_RING.seal(text, ALICE_CELL)) == 2
    pinned = KeyRing({1: DATA_KEY_V1, 2: DATA_KEY_V2}, INDEX_KEY, active_version=1)
    assert key_version_of(pinned.seal(text, ALICE_CELL)) == 1


@MODEST
@given(text=texts, row_id=row_ids, other_row_id=row_ids)
def test_a_ciphertext_copied_to_another_row_does_not_open(
    text: str, row_id: uuid.UUID, other_row_id: uuid.UUID
) -> None:
    if row_id == other_row_id:
        return
    sealed = RING.seal(text, aad_for("customers", "phone_enc", row_id))
    with pytest.raises(DecryptionError):
        RING.open(sealed, aad_for("customers", "phone_enc", other_row_id))


@MODEST
@given(text=texts, row_id=row_ids)
def test_a_ciphertext_copied_to_another_column_does_not_open(text: str, row_id: uuid.UUID) -> None:
    sealed = RING.seal(text, aad_for("customers", "phone_enc", row_id))
    with pytest.raises(DecryptionError):
        RING.open(sealed, aad_for("customers", "email_enc", row_id))


@MODEST
@given(text=texts, row_id=row_ids)
def test_a_ciphertext_copied_to_another_table_does_not_open(text: str, row_id: uuid.UUID) -> None:
    sealed = RING.seal(text, aad_for("complaints", "description_enc", row_id))
    with pytest.raises(DecryptionError):
        RING.open(sealed, aad_for("interactions", "description_enc", row_id))


@MODEST
@given(text=texts, data=st.data())
def test_flipping_any_bit_of_any_byte_makes_the_value_fail_to_open(
    text: str, data: st.DataObject
) -> None:
    sealed = bytearray(RING.seal(text, ALICE_CELL))
    position = data.draw(st.integers(min_value=0, max_value=len(sealed) - 1), label="position")
    sealed[position] ^= data.draw(st.integers(min_value=1, max_value=255), label="mask")
    with pytest.raises(DecryptionError):
        RING.open(bytes(sealed), ALICE_CELL)


@MODEST
@given(text=texts, data=st.data())
def test_a_truncated_ciphertext_fails_to_open_with_a_decryption_error(
    text: str, data: st.DataObject
) -> None:
    sealed = RING.seal(text, ALICE_CELL)
    length = data.draw(st.integers(min_value=0, max_value=len(sealed) - 1), label="length")
    with pytest.raises(DecryptionError):
        RING.open(sealed[:length], ALICE_CELL)


def test_a_value_sealed_under_an_unknown_key_version_fails_to_open() -> None:
    sealed = ROTATED_RING.seal("13812345678", ALICE_CELL)
    with pytest.raises(DecryptionError, match="v2 is not in this key ring"):
        RING.open(sealed, ALICE_CELL)


def test_a_value_with_an_unknown_format_byte_fails_to_open() -> None:
    sealed = bytearray(RING.seal("13812345678", ALICE_CELL))
    sealed[0] = 3  # 1: under a data key, 2: under a customer's key
    with pytest.raises(DecryptionError, match="format"):
        RING.open(bytes(sealed), ALICE_CELL)


@MODEST
@given(text=texts)
def test_values_sealed_before_a_rotation_still_open_and_new_ones_use_the_new_key(
    text: str,
) -> None:
    old = RING.seal(text, ALICE_CELL)
    assert ROTATED_RING.open(old, ALICE_CELL) == text
    assert not ROTATED_RING.is_current(old)
    new = ROTATED_RING.seal(text, ALICE_CELL)
    assert ROTATED_RING.is_current(new)
    assert ROTATED_RING.open(new, ALICE_CELL) == text
    with pytest.raises(DecryptionError):
        RING.open(new, ALICE_CELL)


def test_a_ring_lists_its_versions_and_activates_the_newest() -> None:
    assert ROTATED_RING.versions == (1, 2)
    assert ROTATED_RING.active_version == 2
    with pytest.raises(ValueError, match="at least one data key"):
        KeyRing({}, INDEX_KEY)


@MODEST
@given(value=texts)
def test_the_blind_index_is_deterministic_and_independent_of_the_data_keys(value: str) -> None:
    assert RING.blind_index("phone", value) == RING.blind_index("phone", value)
    assert ROTATED_RING.blind_index("phone", value) == RING.blind_index("phone", value)
    assert len(RING.blind_index("phone", value)) == 32


@MODEST
@given(value=texts)
def test_the_blind_index_differs_per_kind(value: str) -> None:
    assert RING.blind_index("phone", value) != RING.blind_index("id_number", value)


@MODEST
@given(value=texts, other=texts)
def test_the_blind_index_differs_per_value(value: str, other: str) -> None:
    if value == other:
        return
    assert RING.blind_index("phone", value) != RING.blind_index("phone", other)


@MODEST
@given(value=texts)
def test_the_blind_index_differs_under_another_index_key(value: str) -> None:
    other_ring = KeyRing({1: DATA_KEY_V1}, new_key())
    assert other_ring.blind_index("phone", value) != RING.blind_index("phone", value)


@MODEST
@given(
    key=st.binary(min_size=KEY_BYTES, max_size=KEY_BYTES),
    version=st.integers(min_value=1, max_value=2**31),
)
def test_the_master_key_wraps_and_unwraps_a_data_key(key: bytes, version: int) -> None:
    master = LocalMasterKey(new_key())
    context = key_wrap_context(DATA_KEY, version)
    wrapped = master.wrap(key, context=context)
    assert key not in wrapped
    assert master.unwrap(wrapped, context=context) == key


def test_a_wrapped_key_does_not_unwrap_under_another_purpose_or_version() -> None:
    master = LocalMasterKey(new_key())
    wrapped = master.wrap(new_key(), context=key_wrap_context(DATA_KEY, 1))
    for context in (key_wrap_context(DATA_KEY, 2), key_wrap_context(BLIND_INDEX_KEY, 1)):
        with pytest.raises(DecryptionError, match="CARDCRM_MASTER_KEY"):
            master.unwrap(wrapped, context=context)


def test_a_wrapped_key_does_not_unwrap_under_another_master_key() -> None:
    wrapped = LocalMasterKey(new_key()).wrap(new_key(), context=key_wrap_context(DATA_KEY, 1))
    with pytest.raises(DecryptionError, match="does not open with this master key"):
        LocalMasterKey(new_key()).unwrap(wrapped, context=key_wrap_context(DATA_KEY, 1))


def test_a_master_key_must_be_32_bytes_and_never_shows_itself() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        LocalMasterKey(os.urandom(16))
    key = new_key()
    assert key.hex() not in repr(LocalMasterKey(key))
    assert repr(key) not in repr(LocalMasterKey(key))


def test_a_development_master_key_file_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    first = LocalMasterKey.load_or_create_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert LocalMasterKey.load_or_create_file(path) == first
