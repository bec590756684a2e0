"""The HTTP sender against a real HTTP receiver on a free local port.

Given a gateway that fails first and then accepts, when a message is sent, then it is
retried with backoff and delivered with the gateway's id, each try carrying the bearer
secret and the same JSON; given a gateway that always fails, the sender gives up after its
attempts.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from resolvers.outreach.senders import Outgoing
from resolvers.outreach.senders_http import HttpSender


@dataclass
class Gateway:
    url: str
    answers: list[int]  # the statuses to answer, in order; the last repeats
    received: list[tuple[str | None, dict[str, Any], float]] = field(default_factory=list)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway(url="", answers=[200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            state.received.append((self.headers.get("Authorization"), body, time.monotonic()))
            status = state.answers[min(len(state.received), len(state.answers)) - 1]
            answer = json.dumps({"id": f"gw-{len(state.received)}"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def _message() -> Outgoing:
    return Outgoing(uuid.uuid4(), "sms", "13812345678", "138****5678", "您好")


async def test_a_failure_then_success_is_retried_with_backoff(gateway: Gateway) -> None:
    gateway.answers = [503, 200]
    sender = HttpSender(gateway.url, "s3cret", attempts=3, base_seconds=0.2)
    message = _message()
    try:
        delivery = await sender.send(message)
    finally:
        await sender.close()
    assert (delivery.sent, delivery.attempts, delivery.provider_message_id) == (True, 2, "gw-2")
    assert [auth for auth, _, _ in gateway.received] == ["Bearer s3cret"] * 2
    bodies = [body for _, body, _ in gateway.received]
    assert (
        bodies
        == [
            {
                "messageId": str(message.message_id),
                "channel": "sms",
                "to": "13812345678",
                "body": "您好",
            }
        ]
        * 2
    )
    assert gateway.received[1][2] - gateway.received[0][2] >= 0.2  # the backoff


async def test_the_sender_gives_up_after_its_attempts(gateway: Gateway) -> None:
    gateway.answers = [500]
    sender = HttpSender(gateway.url, "s3cret", attempts=3, base_seconds=0.05)
    try:
        delivery = await sender.send(_message())
    finally:
        await sender.close()
    assert (delivery.sent, delivery.attempts) == (False, 3)
    assert delivery.error == "gateway answered HTTP 500"
    assert len(gateway.received) == 3
    gaps = [b[2] - a[2] for a, b in zip(gateway.received, gateway.received[1:], strict=False)]
    assert gaps[1] >= 0.1 > 0  # the second wait doubles the first


async def test_an_unreachable_gateway_fails_without_raising() -> None:
    sender = HttpSender("http://127.0.0.1:9/none", "s3cret", attempts=2, base_seconds=0.01)
    try:
        delivery = await sender.send(_message())
    finally:
        await sender.close()
    assert not delivery.sent
    assert delivery.error is not None
    assert "ConnectError" in delivery.error
