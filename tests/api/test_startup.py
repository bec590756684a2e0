"""Building the server's state on a PostgreSQL that is down, in process (what a failed
``serve`` lifespan logs when the database went away after ``serve``'s own check): the error is
``DatabaseUnreachable``, cardcrm's own, so the JSON log line carries its message, naming the
server and what to do."""

from __future__ import annotations

import logging
import traceback

import orjson
import pytest

from api.log_format import JsonFormatter
from api.state import build_state
from core.startup import DatabaseUnreachable
from tests.conftest import _free_port
from tests.models.conftest import FreshDatabase


def lifespan_log_line(error: BaseException) -> str:
    """The message of the line uvicorn logs for a failed lifespan (a formatted traceback)."""
    text = "".join(traceback.format_exception(error))
    record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, text, None, None)
    return str(orjson.loads(JsonFormatter().format(record))["message"])


async def test_a_refused_postgresql_connection_is_logged_with_its_host_and_port(
    fresh_database: FreshDatabase,
) -> None:
    port = _free_port()
    url = f"postgresql://cardcrm:not-logged@127.0.0.1:{port}/cardcrm"
    settings = fresh_database.settings.model_copy(update={"database_url": url})
    with pytest.raises(DatabaseUnreachable) as refused:
        await build_state(settings)
    line = lifespan_log_line(refused.value)
    assert line == (
        f"core.startup.DatabaseUnreachable: cannot connect to PostgreSQL at 127.0.0.1:{port}: "
        "connection refused; start PostgreSQL there or check DATABASE_URL"
    )
