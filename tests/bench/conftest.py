"""The bare limit speaks PostgreSQL only (asyncpg), like the benchmark: its comparison with
cardcrm is collected when the suite runs on PostgreSQL (CI runs both backends), rather than
collected and skipped on SQLite, where CI would count the skip as a failure."""

from __future__ import annotations

import os
import shutil

POSTGRESQL_ONLY = ["test_bare.py", "test_plain_twins.py", "test_preparation.py"]
collect_ignore = [] if os.environ.get("CARDCRM_TEST_DATABASE") == "postgresql" else POSTGRESQL_ONLY
# bench/load.py drives Debian's `wrk` (apt install wrk); without it test_wrk.py is not collected.
if shutil.which("wrk") is None:
    collect_ignore = [*collect_ignore, "test_wrk.py"]
