"""The bare limit speaks PostgreSQL only (asyncpg), like the benchmark: its comparison with
cardcrm is collected when the suite runs on PostgreSQL (CI runs both backends), rather than
collected and skipped on SQLite, where CI would count the skip as a failure."""

from __future__ import annotations

import os

collect_ignore = [] if os.environ.get("CARDCRM_TEST_DATABASE") == "postgresql" else ["test_bare.py"]
