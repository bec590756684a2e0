"""The three shapes every described schema member takes: an argument, an input or output
field, and an input field that may be left out. The descriptions are the API's documentation
(tests/schema/test_schema_descriptions.py asks for one on every member)."""

from __future__ import annotations

from typing import Any

import strawberry


def described_argument(description: str) -> Any:
    return strawberry.argument(description=description)


def described_field(description: str) -> Any:
    return strawberry.field(description=description)


def optional_field(description: str) -> Any:
    """An input field that may be left out (null), with its description."""
    return strawberry.field(default=None, description=description)
