"""A real webhook receiver for the delivery tests: an HTTP server on a free loopback port, in
a thread, that records each POST and answers from a plan (e.g. 500 twice, then 200)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

from tests.conftest import Server

CREATE = """
mutation($url: String!, $types: [String!]!) {
  createWebhookSubscription(input: {url: $url, eventTypes: $types}) {
    subscription { id url eventTypes }
    secret
    userErrors { field code message }
  }
}
"""
DELETE = """
mutation($id: ID!) {
  deleteWebhookSubscription(id: $id) { subscription { id } userErrors { code } }
}
"""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # when it arrived (before the receiver's delay)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    # Status codes to answer, in turn; 200 once they run out.
    plan: list[int] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, record: Received) -> int:
        with self.lock:
            self.received.append(record)
            return self.plan.pop(0) if self.plan else 200

    def bodies(self, path: str | None = None) -> list[Any]:
        with self.lock:
            return [r.json for r in self.received if path is None or r.path == path]

    def verified(self, secret: str, path: str | None = None) -> list[Any]:
        """Every body received, each checked with the standardwebhooks package."""
        hook = Webhook(secret)
        with self.lock:
            records = [r for r in self.received if path is None or r.path == path]
        return [hook.verify(r.body, r.headers) for r in records]


@contextmanager
def receiver() -> Iterator[Receiver]:
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            target, arrived = box["r"], time.monotonic()
            if target.delay:
                time.sleep(target.delay)
            status = target.answer(Received(self.path, headers, body, arrived))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["r"] = Receiver(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield box["r"]
    finally:
        httpd.shutdown()
        httpd.server_close()


async def subscribe(server: Server, token: str, url: str, types: list[str]) -> tuple[str, str]:
    """A new subscription's id and secret."""
    body = await server.graphql(CREATE, {"url": url, "types": types}, token=token)
    payload = body["data"]["createWebhookSubscription"]
    assert payload["userErrors"] == [], payload
    return payload["subscription"]["id"], payload["secret"]


async def unsubscribe(server: Server, token: str, subscription_id: str) -> None:
    body = await server.graphql(DELETE, {"id": subscription_id}, token=token)
    assert body["data"]["deleteWebhookSubscription"]["userErrors"] == [], body
