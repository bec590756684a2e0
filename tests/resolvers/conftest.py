"""Fresh databases of the test's own (see tests/models/conftest.py)."""

from __future__ import annotations

from tests.models.conftest import empty_database, fresh_database, make_database

__all__ = ["empty_database", "fresh_database", "make_database"]
