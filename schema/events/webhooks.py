"""Webhook subscriptions to the outbox's events (issue 16): ``createWebhookSubscription``,
``deleteWebhookSubscription``, ``replayWebhookSubscription``, ``webhookSubscriptions`` and,
for admins, ``webhookDeadLetters``; each a thin call into ``resolvers.events``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Scope
from models.events.outbox import WebhookDeadLetter as DeadLetterRow
from models.events.outbox import WebhookSubscription as SubscriptionRow
from resolvers.events import subscriptions
from schema.common import UserError, mutation_payload, payload_field
from schema.policy_field import sensitive_field
from schema.relay import to_global_id, uuid_of
from schema.scope_field import scoped_field

TYPE = "WebhookSubscription"
ERRORS = " userErrors: BAD_USER_INPUT, NOT_FOUND, FORBIDDEN."


@strawberry.type(description="Where and which events an OAuth client receives, signed.")
class WebhookSubscription:
    """Not a Relay Node: a subscription is an OAuth client's configuration, read and changed
    only through the webhook fields, never fetched by ``node(id:)``."""

    id: strawberry.ID = strawberry.field(description="The subscription's global ID.")
    client_id: str = strawberry.field(description="The OAuth client that registered it.")
    event_types: list[str] = strawberry.field(description="The event types it receives.")
    delivered_through: str = strawberry.field(
        description="The outbox position (sequence) it is done with; events after it are due."
    )
    failed_attempts: int = strawberry.field(
        description="Failed attempts at the next event (0 when nothing is failing)."
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next retry is due; null when none is waiting."
    )
    created_at: datetime = strawberry.field(description="When it was registered.")
    _row: strawberry.Private[SubscriptionRow]

    @sensitive_field(TYPE, "url")
    def url(self) -> str | None:
        return self._row.url

    @sensitive_field(TYPE, "lastError")
    def last_error(self) -> str | None:
        return self._row.last_error

    @classmethod
    def from_row(cls, row: SubscriptionRow) -> WebhookSubscription:
        return cls(
            id=to_global_id(TYPE, row.id),
            client_id=row.client_id,
            event_types=list(row.event_types),
            delivered_through=str(row.cursor),
            failed_attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            created_at=row.created_at,
            _row=row,
        )


@strawberry.type(description="An event a subscription gave up on after its attempts.")
class WebhookDeadLetter:
    id: strawberry.ID = strawberry.field(description="The dead letter's ID.")
    subscription_id: strawberry.ID = strawberry.field(description="The subscription's `id`.")
    event_id: str = strawberry.field(description="The event's id (its webhook-id).")
    attempts: int = strawberry.field(description="How many times it was tried.")
    last_error: str = strawberry.field(description="The last failure (an HTTP status or error).")
    created_at: datetime = strawberry.field(description="When it was given up on.")

    @classmethod
    def from_row(cls, row: DeadLetterRow) -> WebhookDeadLetter:
        return cls(
            id=to_global_id("WebhookDeadLetter", row.id),
            subscription_id=to_global_id(TYPE, row.subscription_id),
            event_id=str(row.event_id),
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
        )


@strawberry.input(description="A new webhook subscription.")
class CreateWebhookSubscriptionInput:
    url: str = strawberry.field(
        description="Where to POST: https (http only in development and test), no credentials."
    )
    event_types: list[str] = strawberry.field(
        description="The event types to receive (docs/API.md, Events), e.g. customer.updated."
    )


@strawberry.type(description="The outcome of createWebhookSubscription.")
class CreateWebhookSubscriptionPayload:
    subscription: WebhookSubscription | None = payload_field("The subscription; null on errors.")
    secret: str | None = payload_field(
        "The signing secret (whsec_…), shown this once: keep it to verify webhook-signature."
    )
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, done: subscriptions.CreatedSubscription) -> CreateWebhookSubscriptionPayload:
        return cls(subscription=WebhookSubscription.from_row(done.subscription), secret=done.secret)


@strawberry.type(description="The outcome of deleting or replaying a webhook subscription.")
class WebhookSubscriptionPayload:
    subscription: WebhookSubscription | None = payload_field("The subscription; null on errors.")
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, row: SubscriptionRow) -> WebhookSubscriptionPayload:
        return cls(subscription=WebhookSubscription.from_row(row))


def _arg(what: str) -> Any:
    return strawberry.argument(description=what)


@strawberry.type
class WebhookMutation:
    @scoped_field(
        Scope.EVENTS_SUBSCRIBE,
        "Registers a webhook for the calling OAuth client: events after now, in order, signed "
        "per Standard Webhooks with the secret answered once; audited." + ERRORS,
    )
    async def create_webhook_subscription(
        self, info: Info, input: Annotated[CreateWebhookSubscriptionInput, _arg("The webhook.")]
    ) -> CreateWebhookSubscriptionPayload:
        async def write(session: AsyncSession, ctx: Context) -> subscriptions.CreatedSubscription:
            return await subscriptions.create_subscription(
                session=session,
                ring=ctx.key_ring,
                settings=ctx.settings,
                principal=ctx.principal,
                url=input.url,
                event_types=input.event_types,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(
            info, CreateWebhookSubscriptionPayload, write, CreateWebhookSubscriptionPayload.of
        )

    @scoped_field(
        Scope.EVENTS_SUBSCRIBE,
        "Stops a webhook (the client's own; any for admins); audited." + ERRORS,
    )
    async def delete_webhook_subscription(
        self, info: Info, id: Annotated[strawberry.ID, _arg("The subscription's `id`.")]
    ) -> WebhookSubscriptionPayload:
        async def write(session: AsyncSession, ctx: Context) -> SubscriptionRow:
            return await subscriptions.delete_subscription(
                session=session,
                principal=ctx.principal,
                subscription_id=uuid_of(id, TYPE),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(
            info, WebhookSubscriptionPayload, write, WebhookSubscriptionPayload.of
        )

    @scoped_field(
        Scope.EVENTS_SUBSCRIBE,
        "Sends again, in order, every event the webhook receives from `fromEventId` on (that "
        "event included); same webhook-id per event, so receivers dedupe; audited." + ERRORS,
    )
    async def replay_webhook_subscription(
        self,
        info: Info,
        id: Annotated[strawberry.ID, _arg("The subscription's `id`.")],
        from_event_id: Annotated[str, _arg("The event id (webhook-id) to start from.")],
    ) -> WebhookSubscriptionPayload:
        async def write(session: AsyncSession, ctx: Context) -> SubscriptionRow:
            return await subscriptions.replay_subscription(
                session=session,
                principal=ctx.principal,
                subscription_id=uuid_of(id, TYPE),
                from_event_id=subscriptions.event_uuid(from_event_id),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(
            info, WebhookSubscriptionPayload, write, WebhookSubscriptionPayload.of
        )


@strawberry.type
class WebhookQuery:
    @scoped_field(
        Scope.EVENTS_SUBSCRIBE,
        "The webhook subscriptions of the calling OAuth client (every one, for admins).",
    )
    async def webhook_subscriptions(self, info: Info) -> list[WebhookSubscription] | None:
        rows = await subscriptions.list_subscriptions(info.context.db, info.context.principal)
        return [WebhookSubscription.from_row(row) for row in rows]

    @scoped_field(
        Scope.ADMIN,
        "The newest events (at most 100) the webhooks gave up on after their retries.",
        staff_only=True,
    )
    async def webhook_dead_letters(self, info: Info) -> list[WebhookDeadLetter] | None:
        rows = await subscriptions.list_dead_letters(info.context.db, info.context.principal)
        return [WebhookDeadLetter.from_row(row) for row in rows]
