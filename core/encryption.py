"""Column encryption: the key ring, the AES-256-GCM envelope and the blind index.

Done the boring way (STYLE §7):

* every value gets a fresh random 96-bit nonce from the OS;
* every ciphertext starts with a header naming the format and the data-key version, so
  rotation can re-encrypt online and a reader always knows which key opens a value;
* the header *and* the value's place (table, column, row id) are bound as associated data,
  so a ciphertext copied into another row or column fails to decrypt;
* data keys are random, versioned, and stored in the database only wrapped by the master key,
  so a database dump alone reveals nothing;
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_V1 = 1
_HEADER = struct.Struct(">BI")  # format byte, data-key version
NONCE_BYTES = 12
KEY_BYTES = 32

DATA_KEY = "data"
BLIND_INDEX_KEY = "blind_index"


class DecryptionError(Exception):
    """A value could not be opened: wrong place, tampered, or an unknown key version."""


class UnknownKeyVersion(DecryptionError):
    """A value is sealed under a data-key version this ring has not loaded."""

    def __init__(self, version: int) -> None:
        super().__init__(f"data key v{version} is not in this key ring; reload the keys")
        self.version = version


class KeySource(Protocol):
    """Where a process's newest ring is kept (``api.key_ring.KeyRingKeeper``)."""

    @property
    def ring(self) -> KeyRing: ...

    async def ring_with(self, version: int) -> KeyRing:
        """A ring that holds data-key ``version``, loading the stored keys if need be."""
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


TAG_BYTES = 16
_MIN_SEALED = _HEADER.size + NONCE_BYTES + TAG_BYTES


def key_version_of(sealed: bytes) -> int:
    """The data-key version a ciphertext was sealed with (read from its header)."""
    if len(sealed) < _MIN_SEALED:
        raise DecryptionError("ciphertext is truncated")
    fmt, version = _HEADER.unpack_from(sealed)
    if fmt != FORMAT_V1:
        raise DecryptionError(f"unknown ciphertext format {fmt}")
    return int(version)


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

    def open(self, sealed: bytes, aad: bytes) -> str:
        header_size = _HEADER.size
        cipher = self._ciphers.get(key_version_of(sealed))
        if cipher is None:
            raise UnknownKeyVersion(key_version_of(sealed))
        nonce = sealed[header_size : header_size + NONCE_BYTES]
        try:
            clear = cipher.decrypt(
                nonce, sealed[header_size + NONCE_BYTES :], sealed[:header_size] + aad
            )
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not belong to this cell or was altered") from exc
        return clear.decode()

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
        return ring.open(sealed, aad)

    def forget_customer(self, customer_id: UUID) -> None:
        """Drops this process's opened copy of a customer's key (after erasure)."""

    def is_current(self, sealed: bytes) -> bool:
        return key_version_of(sealed) == self.active_version

    def blind_index(self, kind: str, normalized_value: str) -> bytes:
        """Keyed HMAC-SHA256 of a normalised value; ``kind`` keeps phone and ID indexes apart."""
        message = kind.encode() + b"\x00" + normalized_value.encode()
        return hmac.new(self._blind_index_key, message, hashlib.sha256).digest()
