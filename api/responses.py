"""JSON responses in the GraphQL error shape, for failures outside GraphQL execution
(authentication, malformed HTTP requests), so every client parses one error format."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from api import metrics
from api.errors import ErrorCode
from api.middleware import current_request_id


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
