"""Persisted queries: Apollo's automatic persisted queries (APQ) and the production allow-list.

A mobile client sends ``extensions.persistedQuery = {"version": 1, "sha256Hash": h}`` and no
query text, by GET so a CDN can cache it. An unknown hash is answered PERSISTED_QUERY_NOT_FOUND
with the message Apollo clients look for, and they resend the text with its hash, which is
stored when the hash matches the text and refused (BAD_USER_INPUT) when it does not.

In allow-list mode (``persisted_allow_list_only``) only operations imported from a manifest
(``cardcrm persisted import``, or ``persisted_manifests`` at start-up) run at all, sent by hash
or as text; nothing is registered on the fly. Each client draws from its own list
(``ClientPolicy.allow_list``, the ``default`` list unless configured).

The store is in Redis when ``REDIS_URL`` is set, so every instance knows what one learnt, and
in this process otherwise. A hash names its text for good (the text is checked against it), so
texts found are also kept in a small in-process LRU: the hot path rarely reaches Redis.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
from redis.exceptions import RedisError

from api.admission.manifest import ManifestError, is_sha256, query_hash, read_manifest
from core.errors import DomainError, ErrorCode
from core.lru import Lru
from core.settings import Settings

logger = logging.getLogger("cardcrm.persisted")
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # Apollo's clients match this message
TEXT_CACHE_SIZE = 1000
_REGISTERED = ""  # the in-process cache's "list" of APQ texts; no allow-list has this name


class PersistedQueryRefused(DomainError):
    """A persisted-query request refused before execution, with its HTTP status."""

    def __init__(self, code: ErrorCode, message: str, *, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class PersistedQueryStore(Protocol):
    async def get(self, digest: str) -> str | None:
        """A text registered by APQ."""

    async def put(self, digest: str, text: str) -> None:
        """Registers a text for APQ (it expires after ``persisted_query_ttl_seconds``)."""

    async def listed(self, allow_list: str, digest: str) -> str | None:
        """A text of the allow-list ``allow_list``."""

    async def add_to_list(self, allow_list: str, operations: Mapping[str, str]) -> None:
        """Adds operations (by digest) to an allow-list, for good."""

    async def listed_texts(self) -> list[str]:
        """The text of every operation on any allow-list."""

    async def close(self) -> None: ...


class MemoryStore:
    """This process only: APQ texts in a bounded LRU with a time to live, lists in dicts."""

    def __init__(self, *, entries: int, ttl_seconds: int) -> None:
        self._registered: Lru[str, tuple[str, float]] = Lru(entries)
        self._lists: dict[str, dict[str, str]] = {}
        self._ttl = ttl_seconds

    async def get(self, digest: str) -> str | None:
        found = self._registered.get(digest)
        return found[0] if found is not None and found[1] > time.monotonic() else None

    async def put(self, digest: str, text: str) -> None:
        self._registered.put(digest, (text, time.monotonic() + self._ttl))

    async def listed(self, allow_list: str, digest: str) -> str | None:
        return self._lists.get(allow_list, {}).get(digest)

    async def add_to_list(self, allow_list: str, operations: Mapping[str, str]) -> None:
        self._lists.setdefault(allow_list, {}).update(operations)

    async def listed_texts(self) -> list[str]:
        return [text for texts in self._lists.values() for text in texts.values()]

    async def close(self) -> None:
        self._lists.clear()


class RedisStore:
    """Shared by every instance: ``<prefix>apq:<sha256>`` strings with a TTL, and one hash
    per allow-list, ``<prefix>list:<name>``, field ``<sha256>``, value the text.

    While Redis is unreachable a lookup finds nothing: APQ clients fall back to sending the
    text, and allow-list mode refuses everything (it fails closed)."""

    def __init__(self, url: str, *, prefix: str, ttl_seconds: int) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._ttl = ttl_seconds

    async def get(self, digest: str) -> str | None:
        return await self._read(self._redis.get(f"{self._prefix}apq:{digest}"))

    async def put(self, digest: str, text: str) -> None:
        try:
            await self._redis.set(f"{self._prefix}apq:{digest}", text, ex=self._ttl)
        except RedisError as exc:
            logger.warning("persisted-query store unreachable: %s", type(exc).__name__)

    async def listed(self, allow_list: str, digest: str) -> str | None:
        return await self._read(self._redis.hget(f"{self._prefix}list:{allow_list}", digest))

    async def add_to_list(self, allow_list: str, operations: Mapping[str, str]) -> None:
        fields: dict[Any, Any] = dict(operations)  # redis declares its own key and value types
        await self._redis.hset(f"{self._prefix}list:{allow_list}", mapping=fields)

    async def listed_texts(self) -> list[str]:
        """Every list's texts; none while Redis does not answer (they are planned on first
        use instead)."""
        texts: list[str] = []
        try:
            async for key in self._redis.scan_iter(match=f"{self._prefix}list:*"):
                texts.extend(str(text) for text in await self._redis.hvals(key))
        except RedisError:
            logger.warning("could not read the allow-lists from Redis to plan them ahead")
        return texts

    async def close(self) -> None:
        await self._redis.aclose()

    async def _read(self, pending: object) -> str | None:
        try:
            value = await pending  # type: ignore[misc]
        except RedisError as exc:
            logger.warning("persisted-query store unreachable: %s", type(exc).__name__)
            return None
        return value if isinstance(value, str) else None


def create_store(settings: Settings) -> PersistedQueryStore:
    if settings.redis_url:
        return RedisStore(
            settings.redis_url,
            prefix=settings.persisted_key_prefix,
            ttl_seconds=settings.persisted_query_ttl_seconds,
        )
    return MemoryStore(
        entries=settings.persisted_memory_entries,
        ttl_seconds=settings.persisted_query_ttl_seconds,
    )


@dataclass
class PersistedQueries:
    """The protocol: which text a request runs, or why it may not run."""

    store: PersistedQueryStore
    allow_list_only: bool

    def __post_init__(self) -> None:
        self._texts: Lru[tuple[str, str], str] = Lru(TEXT_CACHE_SIZE)

    async def load_manifests(self, manifests: Mapping[str, Path]) -> None:
        """Imports the manifest files named in the settings (allow-list name → path)."""
        for allow_list, path in manifests.items():
            try:
                operations = read_manifest(orjson.loads(path.read_bytes()))
            except (OSError, orjson.JSONDecodeError, ManifestError) as exc:
                raise ManifestError(f"CARDCRM_PERSISTED_MANIFESTS, {path}: {exc}") from exc
            await self.store.add_to_list(allow_list, operations)
            logger.info("allow-list %s: %d operations from %s", allow_list, len(operations), path)

    async def resolve(self, query: object, extensions: object, *, allow_list: str) -> object:
        """The query text to execute; raises ``PersistedQueryRefused``. A ``query`` that is
        not text is returned as it is, for strawberry to refuse in its usual words."""
        digest = _requested_hash(extensions)
        if digest is None:
            if self.allow_list_only and isinstance(query, str):
                await self._require_listed(allow_list, query_hash(query))
            return query
        if isinstance(query, str):
            if query_hash(query) != digest:
                raise PersistedQueryRefused(
                    ErrorCode.BAD_USER_INPUT,
                    "provided sha does not match query: send the SHA-256 (hex) of its exact text",
                    status=400,
                )
            if self.allow_list_only:
                await self._require_listed(allow_list, digest)
            elif self._texts.get((_REGISTERED, digest)) is None:
                await self.store.put(digest, query)
                self._texts.put((_REGISTERED, digest), query)
            return query
        if query is not None:
            return query
        text = await self._find(allow_list, digest)
        if text is None:
            raise PersistedQueryRefused(
                ErrorCode.PERSISTED_QUERY_NOT_FOUND, NOT_FOUND_MESSAGE, status=200
            )
        return text

    async def peek(self, extensions: object, *, allow_list: str) -> str | None:
        """The text a hash-only request would run, or None (for the idempotency check)."""
        digest = _requested_hash(extensions, strict=False)
        return await self._find(allow_list, digest) if digest else None

    async def _find(self, allow_list: str, digest: str) -> str | None:
        """A listed text, or (outside allow-list mode) a registered one."""
        text = await self._cached(
            (allow_list, digest), lambda: self.store.listed(allow_list, digest)
        )
        if text is None and not self.allow_list_only:
            text = await self._cached((_REGISTERED, digest), lambda: self.store.get(digest))
        return text

    async def _cached(
        self, key: tuple[str, str], lookup: Callable[[], Awaitable[str | None]]
    ) -> str | None:
        text = self._texts.get(key)
        if text is None:
            text = await lookup()
            if text is None or query_hash(text) != key[1]:
                return None
            self._texts.put(key, text)
        return text

    async def _require_listed(self, allow_list: str, digest: str) -> None:
        if await self._find(allow_list, digest) is None:
            raise PersistedQueryRefused(
                ErrorCode.FORBIDDEN,
                "only operations from the allow-list run here; ship this operation in the"
                " app's persisted-query manifest and import it with `cardcrm persisted import`",
                status=403,
            )


def _requested_hash(extensions: object, *, strict: bool = True) -> str | None:
    """The ``sha256Hash`` of ``extensions.persistedQuery``, None when there is none."""
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is None:
        return None
    if (
        isinstance(persisted, dict)
        and persisted.get("version") == 1
        and is_sha256(persisted.get("sha256Hash"))
    ):
        return str(persisted["sha256Hash"])
    if not strict:
        return None
    raise PersistedQueryRefused(
        ErrorCode.BAD_USER_INPUT,
        'extensions.persistedQuery must be {"version": 1, "sha256Hash": "<64 hex digits>"}',
        status=400,
    )
