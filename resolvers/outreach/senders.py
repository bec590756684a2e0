"""Who delivers an outbound message: the ``MessageSender`` protocol and the development
sender; the HTTP gateway sender is ``resolvers.outreach.senders_http``. Which one a process
uses is the ``message_sender`` setting (``senders_choice.sender_for``): a real SMS or push
provider is the HTTP sender pointed at its gateway, configuration rather than code.

A sender gets one message at a time with its clear address and body (it has to deliver
them) and answers a ``Delivery``; it never logs a clear C2 value, only the masked recipient.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import orjson

from models.columns import utcnow

DEVELOPMENT = "development"
OUTBOX_FILE = Path("outbox") / "messages.jsonl"


@dataclass(frozen=True)
class Outgoing:
    """One message as a sender needs it."""

    message_id: uuid.UUID
    channel: str
    to: str  # the clear address: phone, e-mail, or the customer's id for the app
    to_masked: str  # what a log may show of it
    body: str


@dataclass(frozen=True)
class Delivery:
    """What became of one message: sent (with the provider's id for it) or given up."""

    sent: bool
    attempts: int
    provider_message_id: str | None = None
    error: str | None = None


class MessageSender(Protocol):
    name: str

    async def send(self, message: Outgoing) -> Delivery: ...

    async def close(self) -> None: ...


class DevelopmentSender:
    """Records each message instead of sending it: one JSON line (its id, channel, the masked
    recipient and when) appended to ``var_dir/outbox/messages.jsonl``; the message counts as
    sent."""

    name = DEVELOPMENT

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, message: Outgoing) -> Delivery:
        line = orjson.dumps(
            {
                "messageId": str(message.message_id),
                "channel": message.channel,
                "to": message.to_masked,
                "sentAt": utcnow().isoformat(),
            }
        )
        await asyncio.to_thread(self._append, line)
        return Delivery(sent=True, attempts=1, provider_message_id=f"dev-{message.message_id}")

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as out:
            out.write(line + b"\n")

    async def close(self) -> None:
        return None
