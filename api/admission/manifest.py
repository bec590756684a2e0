"""Persisted-operation manifests, as the client compilers emit them, read into
``{sha256 of the text: text}`` for the allow-list (``api.admission.persisted``).

Two formats are accepted:

- Apollo's ``generate-persisted-query-manifest``::

    {"format": "apollo-persisted-query-manifest", "version": 1,
     "operations": [{"id": "<sha256>", "name": "Me", "type": "query", "body": "query Me {...}"}]}

- Relay's persisted query JSON (``persistConfig.file``)::

    {"<id>": "query Me { ... }"}

Clients send the SHA-256 of the text (Apollo's ``extensions.persistedQuery.sha256Hash``), so
every operation is stored under it. An id that looks like a SHA-256 but is not the text's
means the manifest and the app disagree, and the whole manifest is refused; other ids (Relay's
default MD5) are only labels: configure Relay with ``"algorithm": "SHA256"``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError, parse

APOLLO_FORMAT = "apollo-persisted-query-manifest"
_SHA256 = re.compile(r"[0-9a-f]{64}")  # fullmatch: "$" would let "\n" in


class ManifestError(ValueError):
    """The manifest cannot be imported; the message says which entry and why."""


def query_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def read_manifest(data: Any) -> dict[str, str]:
    """The operations of an Apollo or Relay manifest, by the SHA-256 of their text."""
    if isinstance(data, dict) and data.get("format") == APOLLO_FORMAT:
        return _apollo(data)
    if isinstance(data, dict) and data and all(isinstance(v, str) for v in data.values()):
        return _operations((str(key), text) for key, text in data.items())
    raise ManifestError(
        f'expected Apollo\'s manifest ({{"format": "{APOLLO_FORMAT}", "operations": [...]}})'
        ' or Relay\'s ({"<id>": "<query text>", ...}), with at least one operation'
    )


def _apollo(data: dict[str, Any]) -> dict[str, str]:
    if data.get("version") != 1:
        raise ManifestError(f"only version 1 of {APOLLO_FORMAT} is known")
    operations = data.get("operations")
    if not isinstance(operations, list) or not operations:
        raise ManifestError("`operations` must be a non-empty list")
    entries: list[tuple[str, str]] = []
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or not isinstance(operation.get("body"), str):
            raise ManifestError(f"operation {index} has no `body` text")
        entries.append(
            (str(operation.get("id") or operation.get("name") or index), operation["body"])
        )
    return _operations(entries)


def _operations(entries: Iterable[tuple[str, str]]) -> dict[str, str]:
    operations: dict[str, str] = {}
    for label, text in entries:
        digest = query_hash(text)
        if is_sha256(label) and label != digest:
            raise ManifestError(
                f"operation {label}: its id is not the SHA-256 of its text; regenerate the manifest"
            )
        try:
            parse(text, no_location=True)
        except GraphQLError as exc:
            raise ManifestError(f"operation {label} does not parse: {exc.message}") from exc
        operations[digest] = text
    return operations
