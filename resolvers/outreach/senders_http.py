"""The HTTP sender: POSTs each message as JSON to an SMS/push gateway.

``{"messageId", "channel", "to", "body"}`` goes to ``message_gateway_url`` with
``Authorization: Bearer <message_gateway_secret>``; a 2xx answer is sent (its JSON ``id``, if
any, is kept as the provider's message id). A network error or any other status is retried
after ``message_retry_base_seconds``, doubling each time, and given up (FAILED) after
``message_send_attempts`` tries; the gateway sees the same ``messageId`` on each try, so it
can drop a duplicate.
"""

from __future__ import annotations

import asyncio

import httpx

from core.settings import Settings, SettingsError
from resolvers.outreach.senders import Delivery, Outgoing

HTTP = "http"
ERROR_LENGTH = 500


class HttpSender:
    name = HTTP

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        attempts: int = 3,
        base_seconds: float = 1.0,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.base_seconds = base_seconds
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds, headers={"Authorization": f"Bearer {secret}"}
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpSender:
        if not (settings.message_gateway_url and settings.message_gateway_secret):
            raise SettingsError(
                "the http message sender needs CARDCRM_MESSAGE_GATEWAY_URL and "
                "CARDCRM_MESSAGE_GATEWAY_SECRET"
            )
        return cls(
            settings.message_gateway_url,
            settings.message_gateway_secret,
            attempts=settings.message_send_attempts,
            base_seconds=settings.message_retry_base_seconds,
            timeout_seconds=settings.message_gateway_timeout_seconds,
        )

    async def _try(self, message: Outgoing) -> tuple[str | None, str | None]:
        """One POST: (provider id, None) when accepted, (None, why) when not."""
        body = {
            "messageId": str(message.message_id),
            "channel": message.channel,
            "to": message.to,
            "body": message.body,
        }
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]
        if not response.is_success:
            return None, f"gateway answered HTTP {response.status_code}"
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        provider_id = answer.get("id") if isinstance(answer, dict) else None
        return (str(provider_id) if provider_id is not None else ""), None

    async def send(self, message: Outgoing) -> Delivery:
        error: str | None = None
        for attempt in range(1, self.attempts + 1):
            provider_id, error = await self._try(message)
            if error is None:
                return Delivery(
                    sent=True, attempts=attempt, provider_message_id=provider_id or None
                )
            if attempt < self.attempts:
                await asyncio.sleep(self.base_seconds * 2 ** (attempt - 1))
        return Delivery(sent=False, attempts=self.attempts, error=error)

    async def close(self) -> None:
        await self._client.aclose()
