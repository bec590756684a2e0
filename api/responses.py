"""JSON responses in the GraphQL error shape, for failures outside GraphQL execution
(authentication, malformed HTTP requests), so every client parses one error format."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response

from api import metrics
from api.errors import ErrorCode
from api.middleware import current_request_id
from api.outage import UNAVAILABLE_MESSAGE

logger = logging.getLogger("cardcrm.http")


class OrjsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(
    status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None
) -> Response:
    metrics.ERRORS.labels(code=code.value).inc()
    body = {
        "errors": [
            {
                "message": message,
                "extensions": {"code": code.value, "requestId": current_request_id()},
            }
        ]
    }
    return OrjsonResponse(body, status_code=status, headers=headers)


def unavailable_response(retry_after_seconds: int, cause: BaseException | None) -> Response:
    """503 SERVICE_UNAVAILABLE with ``Retry-After``: the database did not answer in time
    (``api.outage``); ``cause`` (None: the request's deadline) is named in the log only."""
    logger.warning(
        "request %s: the database did not answer (%s)",
        current_request_id(),
        type(cause).__name__ if cause is not None else "deadline",
    )
    return error_response(
        503,
        ErrorCode.SERVICE_UNAVAILABLE,
        UNAVAILABLE_MESSAGE,
        headers={"Retry-After": str(retry_after_seconds)},
    )


def too_complex_response(seconds: float) -> Response:
    """504 QUERY_TOO_COMPLEX: the operation itself, not the database, outran the deadline."""
    logger.warning("request %s stopped after %s s", current_request_id(), seconds)
    return error_response(
        504,
        ErrorCode.QUERY_TOO_COMPLEX,
        f"the operation ran longer than {seconds:g} s and was stopped; what it had not"
        " committed was rolled back. Ask for less (smaller pages, fewer nested lists).",
    )
