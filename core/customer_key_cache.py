"""The customer keys a process has opened (``core.encryption``, format 2), kept in memory."""

from __future__ import annotations

from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.lru import Lru


class CustomerKeyCache:
    """The customer keys this process has opened, least recently used dropped first.

    Only keys are kept, never a value they open; one dropped is loaded again from the
    database (``customer_keys``). Shared by every ring of the process, since a customer key
    does not change when the data keys rotate (only its wrapping does). The keys themselves
    are kept as bytes (about 100 bytes each: 100,000 customers cost some 10 MB); a cipher
    object, which costs ten times that, only for the most recently used ones.
    """

    CIPHERS = 4096

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._keys: Lru[UUID, bytes] = Lru(capacity)
        self._ciphers: Lru[UUID, AESGCM] = Lru(min(capacity, self.CIPHERS))

    def get(self, customer_id: UUID) -> AESGCM | None:
        cipher = self._ciphers.get(customer_id)
        if cipher is None:
            key = self._keys.get(customer_id)
            if key is None:
                return None
            cipher = AESGCM(key)
            self._ciphers.put(customer_id, cipher)
        return cipher

    def has(self, customer_id: UUID) -> bool:
        return self._keys.get(customer_id) is not None

    def put(self, customer_id: UUID, key: bytes) -> None:
        self._keys.put(customer_id, key)
        self._ciphers.pop(customer_id)

    def forget(self, customer_id: UUID) -> None:
        self._keys.pop(customer_id)
        self._ciphers.pop(customer_id)

    def __len__(self) -> int:
        return len(self._keys)
