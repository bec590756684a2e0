"""Log lines as JSON, one object a line, for the log pipeline to parse instead of guess.

Every line has ``ts``, ``level``, ``logger`` and ``message``, the request id when it was
written during a request, and the ``fields`` a caller passed as ``extra={"fields": {...}}``
(the per-request line of ``api.observability`` is one). A line never carries a stack trace:
an exception is named by its type (and, for cardcrm's own exceptions, its message), because a
traceback can quote SQL, a clear value or a token (nothing sensitive reaches a log line).
Named ``log_format`` so that it does not shadow the standard ``logging`` module.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from api.middleware import current_request_id

FIELDS = "fields"
OWN_PACKAGES = frozenset({"api", "auth", "core", "migrations", "models", "resolvers", "schema"})
TRACEBACK = "Traceback (most recent call last):"


def _error_fields(error: BaseException) -> dict[str, str]:
    """The exception's type; and its message when the class is cardcrm's own, whose messages
    are written to be shown ("run `cardcrm db upgrade`"). A library's message may quote SQL
    and its parameters, so it stays out."""
    fields = {"error": type(error).__name__}
    if type(error).__module__.split(".")[0] in OWN_PACKAGES:
        fields["error_message"] = str(error)
    return fields


def _without_traceback(message: str) -> str:
    """A message that is a formatted traceback (uvicorn logs a failed lifespan startup that
    way) keeps only its last line, under the rule of ``_error_fields``."""
    head, marker, trace = message.partition(TRACEBACK)
    if not marker:
        return message
    name, _, text = trace.strip().splitlines()[-1].partition(": ")
    own = name.split(".")[0] in OWN_PACKAGES
    return f"{head}{name}: {text}" if own else f"{head}{name}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _without_traceback(record.getMessage()),
        }
        request_id = current_request_id()
        if request_id != "-":
            line["request_id"] = request_id
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            line.update(_error_fields(record.exc_info[1]))
        return orjson.dumps(line, default=str).decode()


def logging_config(level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn's ``log_config``: JSON on stderr for
    cardcrm's and uvicorn's loggers. uvicorn's access log is replaced by cardcrm's request
    line (run uvicorn with ``access_log=False``)."""
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "cardcrm": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "strawberry": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
    }
