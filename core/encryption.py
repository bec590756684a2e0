"""Column encryption: the key ring, the AES-256-GCM envelope and the blind index.

Done the boring way (STYLE §7):

* every value gets a fresh random 96-bit nonce from the OS;
* every ciphertext starts with a header naming the format and the data-key version, so
  rotation can re-encrypt online and a reader always knows which key opens a value;
* the header *and* the value's place (table, column, row id) are bound as associated data,
  so a ciphertext copied into another row or column fails to decrypt;
* data keys are random, versioned, and stored in the database only wrapped by the master key,
  so a database dump alone reveals nothing;
* a customer's C2 values are sealed under the customer's own key (format 2, its header names
  the customer), itself stored wrapped by a data key: destroying that one key erases every
  value about the customer at once, wherever a copy of the ciphertext lies (crypto-shredding,
  issue 16). Values that are no customer's (a webhook's secret, a stored response) stay
  under the data key (format 1);
* exact-match search uses a keyed HMAC (blind index) over the normalised value, with its own
  key that never rotates with the data keys (rotating it would orphan the index).

``AESGCM`` objects are built once per key version and reused: constructing one costs more
than decrypting a short value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.customer_key_cache import CustomerKeyCache

FORMAT_V1 = 1  # sealed under a data key
_HEADER = struct.Struct(">BI")  # format byte, data-key version
FORMAT_V2 = 2  # sealed under a customer's own key
_CUSTOMER_HEADER = struct.Struct(">B16s")  # format byte, the customer's id
NONCE_BYTES = 12
KEY_BYTES = 32

DATA_KEY = "data"
BLIND_INDEX_KEY = "blind_index"


class DecryptionError(Exception):
    """A value could not be opened: wrong place, tampered, or an unknown key version."""


class KeyNotLoaded(DecryptionError):
    """The key that opens a value is stored but not loaded in this ring yet."""


class UnknownKeyVersion(KeyNotLoaded):
    """A value is sealed under a data-key version this ring has not loaded."""

    def __init__(self, version: int) -> None:
        super().__init__(f"data key v{version} is not in this key ring; reload the keys")
        self.version = version


class CustomerKeyNotLoaded(KeyNotLoaded):
    """A value is sealed under a customer's key this ring has not opened yet
    (``models.customer_keys.ensure_customer_keys`` loads it, or creates it)."""

    def __init__(self, customer_id: UUID) -> None:
        super().__init__(f"the key of customer {customer_id} is not loaded")
        self.customer_id = customer_id


class KeySource(Protocol):
    """Where a process's newest ring is kept (``api.key_ring.KeyRingKeeper``)."""

    @property
    def ring(self) -> KeyRing: ...

    async def ring_with(self, version: int) -> KeyRing:
        """A ring that holds data-key ``version``, loading the stored keys if need be."""
        ...

    async def load_customer_keys(self, customer_ids: list[UUID]) -> None:
        """Opens the stored keys of these customers into the ring (``core.errors.KeyUnavailable``
        for any that has none: erased, or never given one)."""
        ...


class MasterKey(Protocol):
    """Wraps and unwraps data keys. Locally an AES key; in production a KMS adapter."""

    def wrap(self, key: bytes, *, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes: ...


@dataclass(frozen=True)
class LocalMasterKey:
    """A 256-bit master key held in process memory (from the environment or a file)."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise ValueError("the master key must be 32 bytes (base64 of 32 random bytes)")

    def wrap(self, key: bytes, *, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.key).encrypt(nonce, key, context)

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes:
        try:
            return AESGCM(self.key).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
        except InvalidTag as exc:
            raise DecryptionError(
                "a stored data key does not open with this master key; "
                "check CARDCRM_MASTER_KEY / CARDCRM_MASTER_KEY_FILE"
            ) from exc

    @classmethod
    def from_base64(cls, text: str) -> LocalMasterKey:
        return cls(base64.b64decode(text.strip()))

    @classmethod
    def load_or_create_file(cls, path: Path) -> LocalMasterKey:
        """Development only: a master key generated on first run, readable by its owner only."""
        if path.exists():
            return cls.from_base64(path.read_text())
        path.parent.mkdir(parents=True, exist_ok=True)
        key = os.urandom(KEY_BYTES)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(key).decode() + "\n")
        return cls(key)


def key_wrap_context(purpose: str, version: int) -> bytes:
    """Binds a wrapped key to its purpose and version, so rows of the key table can't be swapped."""
    return f"cardcrm-key/{purpose}/v{version}".encode()


def aad_for(table: str, column: str, row_id: UUID | str) -> bytes:
    """The associated data that pins a ciphertext to one cell."""
    return f"{table}/{column}/{row_id}".encode()


def customer_key_context(customer_id: UUID) -> bytes:
    """Binds a wrapped customer key to its customer, so two customers' rows can't be swapped."""
    return f"cardcrm-key/customer/{customer_id}".encode()


TAG_BYTES = 16
_MIN_SEALED = _HEADER.size + NONCE_BYTES + TAG_BYTES


def key_version_of(sealed: bytes) -> int | None:
    """The data-key version a ciphertext was sealed with (read from its header); None for a
    value sealed under a customer's key, which rotation reaches by re-wrapping that key."""
    if len(sealed) < _MIN_SEALED:
        raise DecryptionError("ciphertext is truncated")
    fmt = sealed[0]
    if fmt == FORMAT_V2:
        return None
    if fmt != FORMAT_V1:
        raise DecryptionError(f"unknown ciphertext format {fmt}")
    return int(_HEADER.unpack_from(sealed)[1])


def data_key_version_of(sealed: bytes) -> int:
    """``key_version_of`` for a value that is always under a data key (a stored response)."""
    version = key_version_of(sealed)
    if version is None:
        raise DecryptionError("a value expected under a data key is under a customer's key")
    return version


def customer_of(sealed: bytes) -> UUID | None:
    """The customer whose key seals a value (format 2), or None (format 1)."""
    if sealed[:1] != bytes([FORMAT_V2]):
        return None
    return UUID(bytes=_CUSTOMER_HEADER.unpack_from(sealed)[1])


def _decrypt(cipher: AESGCM, sealed: bytes, header: bytes, aad: bytes) -> str:
    """The clear text of ``sealed`` (its ``header``, then nonce and ciphertext with tag)."""
    start = len(header)
    nonce = sealed[start : start + NONCE_BYTES]
    try:
        clear = cipher.decrypt(nonce, sealed[start + NONCE_BYTES :], header + aad)
    except InvalidTag as exc:
        raise DecryptionError("ciphertext does not belong to this cell or was altered") from exc
    return clear.decode()


class KeyRing:
    """The unwrapped keys of this process: every data-key version, and the blind-index key."""

    def __init__(
        self,
        data_keys: Mapping[int, bytes],
        blind_index_key: bytes,
        active_version: int | None = None,
    ) -> None:
        if not data_keys:
            raise ValueError("a key ring needs at least one data key")
        self._ciphers = {version: AESGCM(key) for version, key in data_keys.items()}
        self.active_version = active_version if active_version is not None else max(data_keys)
        self._active_cipher = self._ciphers[self.active_version]
        self._active_header = _HEADER.pack(FORMAT_V1, self.active_version)
        self._blind_index_key = blind_index_key
        self._source: KeySource | None = None
        self.customer_keys = CustomerKeyCache()

    def follow(self, source: KeySource) -> None:
        """Ties this ring to the process's keeper: ``open_or_reload`` fetches a version it
        lacks from there, and ``seal`` uses the keeper's newest ring, so code that holds on to
        a ring (a long import, a re-encryption run) seals under a rotated key as soon as the
        process has loaded it."""
        self._source = source

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._ciphers))

    def seal(self, plaintext: str, aad: bytes) -> bytes:
        source = self._source
        if source is not None and source.ring is not self:
            return source.ring.seal(plaintext, aad)
        header = self._active_header
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + self._active_cipher.encrypt(nonce, plaintext.encode(), header + aad)

    def seal_for(self, customer_id: UUID, plaintext: str, aad: bytes) -> bytes:
        """Seals a value about a customer under the customer's own key (format 2)."""
        cipher = self.customer_keys.get(customer_id)
        if cipher is None:
            raise CustomerKeyNotLoaded(customer_id)
        header = _CUSTOMER_HEADER.pack(FORMAT_V2, customer_id.bytes)
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + cipher.encrypt(nonce, plaintext.encode(), header + aad)

    def _cipher_for(self, sealed: bytes) -> tuple[AESGCM, int]:
        """The cipher that opens ``sealed``, and its header's size."""
        version = key_version_of(sealed)
        if version is None:
            customer_id = UUID(bytes=_CUSTOMER_HEADER.unpack_from(sealed)[1])
            customer_cipher = self.customer_keys.get(customer_id)
            if customer_cipher is None:
                raise CustomerKeyNotLoaded(customer_id)
            return customer_cipher, _CUSTOMER_HEADER.size
        cipher = self._ciphers.get(version)
        if cipher is None:
            raise UnknownKeyVersion(version)
        return cipher, _HEADER.size

    def open(self, sealed: bytes, aad: bytes) -> str:
        cipher, header_size = self._cipher_for(sealed)
        return _decrypt(cipher, sealed, sealed[:header_size], aad)

    def opener_for(self, customer_id: UUID) -> Callable[[bytes, bytes], str]:
        """``open`` for the values of one customer's row: those under the customer's own key
        open with its cipher, looked up once for the row rather than once per value (the
        header is still checked, and bound as associated data); any other value as ``open``."""
        cipher = self.customer_keys.get(customer_id)
        if cipher is None:
            return self.open
        header = _CUSTOMER_HEADER.pack(FORMAT_V2, customer_id.bytes)
        size = len(header)
        fallback = self.open

        def open_value(sealed: bytes, aad: bytes) -> str:
            if sealed[:size] != header:
                return fallback(sealed, aad)
            return _decrypt(cipher, sealed, header, aad)

        return open_value

    async def open_or_reload(self, sealed: bytes, aad: bytes) -> str:
        """``open``, except that a version this ring lacks (a value re-sealed by another process
        after a rotation) is first fetched through the ring's keeper, at once: the process
        does not wait for its next scheduled key check. Without a keeper, as ``open``."""
        try:
            return self.open(sealed, aad)
        except UnknownKeyVersion as missing:
            if self._source is None:
                raise
            ring = await self._source.ring_with(missing.version)
        except CustomerKeyNotLoaded as missing_customer:
            if self._source is None:
                raise
            await self._source.load_customer_keys([missing_customer.customer_id])
            ring = self
        return ring.open(sealed, aad)

    async def ring_with(self, version: int) -> KeyRing:
        """This ring if it holds data-key ``version``, else the keeper's once it has loaded it
        (``UnknownKeyVersion`` without a keeper)."""
        if version in self._ciphers:
            return self
        if self._source is None:
            raise UnknownKeyVersion(version)
        return await self._source.ring_with(version)

    def has_customer_key(self, customer_id: UUID) -> bool:
        return self.customer_keys.has(customer_id)

    def new_customer_key(self, customer_id: UUID) -> tuple[int, bytes]:
        """A fresh key for a customer, opened into this ring: returns the data-key version
        that wraps it and the wrapped key, for ``customer_keys``."""
        source = self._source
        if source is not None and source.ring is not self:
            return source.ring.new_customer_key(customer_id)
        key = os.urandom(KEY_BYTES)
        self.customer_keys.put(customer_id, key)
        return self.active_version, self._wrap_customer_key(customer_id, key)

    def _wrap_customer_key(self, customer_id: UUID, key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._active_cipher.encrypt(nonce, key, customer_key_context(customer_id))

    def _unwrap_customer_key(self, customer_id: UUID, version: int, wrapped: bytes) -> bytes:
        cipher = self._ciphers.get(version)
        if cipher is None:
            raise UnknownKeyVersion(version)
        context = customer_key_context(customer_id)
        try:
            return cipher.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
        except InvalidTag as exc:
            raise DecryptionError(
                f"the stored key of customer {customer_id} is not theirs"
            ) from exc

    def open_customer_key(self, customer_id: UUID, version: int, wrapped: bytes) -> None:
        """Unwraps a stored customer key into this ring (``UnknownKeyVersion`` when its
        wrapping data key is not loaded)."""
        self.customer_keys.put(
            customer_id, self._unwrap_customer_key(customer_id, version, wrapped)
        )

    def rewrap_customer_key(self, customer_id: UUID, version: int, wrapped: bytes) -> bytes:
        """The same customer key wrapped under the active data-key version (rotation)."""
        key = self._unwrap_customer_key(customer_id, version, wrapped)
        return self._wrap_customer_key(customer_id, key)

    def forget_customer(self, customer_id: UUID) -> None:
        """Drops this process's opened copy of a customer's key (after erasure)."""
        self.customer_keys.forget(customer_id)

    def is_current(self, sealed: bytes) -> bool:
        version = key_version_of(sealed)
        return version is None or version == self.active_version

    def blind_index(self, kind: str, normalized_value: str) -> bytes:
        """Keyed HMAC-SHA256 of a normalised value; ``kind`` keeps phone and ID indexes apart."""
        message = kind.encode() + b"\x00" + normalized_value.encode()
        return hmac.new(self._blind_index_key, message, hashlib.sha256).digest()
