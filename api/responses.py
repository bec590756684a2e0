"""JSON responses in the GraphQL error shape, for failures outside GraphQL execution
(authentication, malformed HTTP requests), so every client parses one error format; and the
media type a GraphQL response takes (GraphQL over HTTP, "Body" and "Status Codes").

A client that accepts ``application/graphql-response+json`` (and ranks it no lower than
``application/json``) gets it, and with it the status codes that type allows: a request that
fails before execution starts (a document that does not parse or validate, variables that do
not coerce) answers 4xx and has no ``data`` entry. Every other client — one asking for
``application/json``, sending ``*/*`` or no ``Accept`` at all — keeps ``application/json``,
where such a failure is HTTP 200 with ``"data": null``, as legacy clients expect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from api import metrics
from api.middleware import current_request_id
from core.errors import ErrorCode
from core.outage import UNAVAILABLE_MESSAGE

logger = logging.getLogger("cardcrm.http")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
_MEDIA_TYPES = {GRAPHQL_RESPONSE_JSON: GRAPHQL_RESPONSE_JSON, JSON: JSON, "application/*": JSON}
_MAX_ACCEPT_RANGES = 32  # a longer Accept header is read no further
# The status of a request error under application/graphql-response+json, by its code.
_REQUEST_ERROR_STATUS = {
    ErrorCode.UNAUTHENTICATED.value: 401,
    ErrorCode.FORBIDDEN.value: 403,
    ErrorCode.RATE_LIMITED.value: 429,
    ErrorCode.INTERNAL_SERVER_ERROR.value: 500,
    ErrorCode.SERVICE_UNAVAILABLE.value: 503,
}


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


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def response_media_type(accept: str | None) -> str:
    """The media type of the GraphQL response to a request with this ``Accept`` header: the
    acceptable one of ours with the highest quality, the first listed on a tie; anything
    else (no header, ``*/*``, nothing of ours) is ``application/json``."""
    best, best_quality = JSON, 0.0
    for media_range in (accept or "").split(",")[:_MAX_ACCEPT_RANGES]:
        media_type, *parameters = media_range.split(";")
        ours = _MEDIA_TYPES.get(media_type.strip().lower())
        quality = _quality(parameters)
        if ours is not None and quality > best_quality:
            best, best_quality = ours, quality
    return best


def request_error_status(codes: Iterable[object]) -> int:
    """The HTTP status of a request error with these ``extensions.code`` values."""
    for code in codes:
        if (status := _REQUEST_ERROR_STATUS.get(str(code))) is not None:
            return status
    return 400


def with_media_type(response: Response, media_type: str, status: int | None) -> Response:
    """A GraphQL response in the negotiated media type, with a request error's status."""
    if media_type == GRAPHQL_RESPONSE_JSON and response.status_code == 200:
        response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        if status is not None:
            response.status_code = status
    return response


def refused_request(status: int, reason: str, method: str) -> Response:
    """A request refused before it ran (BAD_USER_INPUT); a 405 says what is allowed: POST
    after a GET (a mutation or a lookup by GET), GET and POST after any other method."""
    allowed = "POST" if method == "GET" else "GET, POST"
    headers = {"Allow": allowed} if status == 405 else None
    return error_response(status, ErrorCode.BAD_USER_INPUT, reason, headers=headers)


def unavailable_response(retry_after_seconds: int, cause: BaseException | None) -> Response:
    """503 SERVICE_UNAVAILABLE with ``Retry-After``: the database did not answer in time
    (``core.outage``); ``cause`` (None: the request's deadline) is named in the log only."""
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


async def routing_error_response(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (an unknown path, a method a route does not take: PUT, DELETE
    or OPTIONS on /graphql) in the one error shape, with a code, instead of plain text;
    ``Allow`` is kept."""
    assert isinstance(exc, HTTPException)
    code = ErrorCode.NOT_FOUND if exc.status_code == 404 else ErrorCode.BAD_USER_INPUT
    return error_response(exc.status_code, code, exc.detail, headers=dict(exc.headers or {}))
