"""Pure-ASGI middleware: no request body larger than ``max_request_bytes`` (STYLE §6).

A declared ``Content-Length`` over the limit is refused before the app runs. A chunked body
(or one whose header understates it) is counted as the app reads it: the read that crosses the
limit raises ``BodyTooLarge`` inside the app, whatever the app answers is dropped, and the
client gets 413 with the usual JSON error. Nothing past the limit is ever buffered.
"""

from __future__ import annotations

import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.responses import error_response
from core.errors import ErrorCode


class BodyTooLarge(Exception):
    """Raised from ``receive`` when the body crosses the limit; the middleware answers 413."""


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        exceeded = started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's answer to a body cut short is replaced by the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(BodyTooLarge):  # raised by counting_receive, inside the app
            await self.app(scope, counting_receive, guarded_send)
        if exceeded and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413,
            ErrorCode.BAD_USER_INPUT,
            f"the request body is larger than {self.max_bytes} bytes; send less",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
